// Fast element-wise kernels against the reference: binary Add/Sub/Mul/Div/Max/Min on equal
// shapes, per-channel, scalar and two-sided broadcasts, and activations, on sizes that straddle
// the vector widths and sizes large enough to be split over threads. Everything but Sigmoid must
// match the reference bit for bit (NaN for NaN); the failing case prints its parameters.
#include "kernels/fast/eltwise_fast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/reference/activation.h"
#include "kernels/reference/elementwise.h"

namespace qs::kernels {
namespace {

const int64_t kSizes[] = {1, 7, 8, 9, 15, 16, 17, 31, 33};
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

std::vector<float> values(int64_t n, uint32_t seed, bool specials) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.f, 3.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(gen);
  for (size_t i = 2; i < v.size(); i += 13) v[i] = std::round(v[i]);
  for (size_t i = 5; i < v.size(); i += 17) v[i] = -0.f;
  if (specials) {
    for (size_t i = 7; i < v.size(); i += 29) v[i] = kNaN;
    for (size_t i = 11; i < v.size(); i += 31) v[i] = i % 2 ? kInf : -kInf;
  }
  return v;
}

bool same(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

std::string shape_text(const Shape& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << "]";
  return o.str();
}

const char* op_name(ref::BinaryOp op) {
  switch (op) {
    case ref::BinaryOp::kAdd: return "Add";
    case ref::BinaryOp::kSub: return "Sub";
    case ref::BinaryOp::kMul: return "Mul";
    case ref::BinaryOp::kDiv: return "Div";
    case ref::BinaryOp::kMax: return "Max";
    case ref::BinaryOp::kMin: return "Min";
  }
  return "?";
}

Shape broadcast(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
    const int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
    out[i] = da == 1 ? db : da;
  }
  return out;
}

// Every op on a (shape sa) op b (shape sb): fast vs reference, and the in-place form y = a op b
// with y == a when a is not broadcast. Returns false after the first failure.
bool check_binary(const Shape& sa, const Shape& sb) {
  const Shape out = broadcast(sa, sb);
  const ref::BroadcastParams p = ref::make_broadcast(out, {sa, sb});
  const auto a = values(numel(sa), 1 + static_cast<uint32_t>(numel(sa)), true);
  const auto b = values(numel(sb), 2 + static_cast<uint32_t>(numel(sb) * 3), true);
  for (auto op : {ref::BinaryOp::kAdd, ref::BinaryOp::kSub, ref::BinaryOp::kMul, ref::BinaryOp::kDiv,
                  ref::BinaryOp::kMax, ref::BinaryOp::kMin}) {
    std::vector<float> want(static_cast<size_t>(numel(out)), 7.f), got(want.size(), -7.f);
    ref::binary<float>(op, p, a.data(), b.data(), want.data());
    fast::binary_f32(op, p, a.data(), b.data(), got.data());
    for (size_t i = 0; i < want.size(); ++i)
      if (!same(got[i], want[i])) {
        ADD_FAILURE() << op_name(op) << " " << shape_text(sa) << " x " << shape_text(sb) << ": element " << i
                      << " is " << got[i] << ", reference " << want[i];
        return false;
      }
    if (sa == out) {
      std::vector<float> inplace = a;
      fast::binary_f32(op, p, inplace.data(), b.data(), inplace.data());
      for (size_t i = 0; i < want.size(); ++i)
        if (!same(inplace[i], want[i])) {
          ADD_FAILURE() << op_name(op) << " in place " << shape_text(sa) << " x " << shape_text(sb) << ": element "
                        << i << " is " << inplace[i] << ", reference " << want[i];
          return false;
        }
    }
  }
  return true;
}

TEST(BinaryFast, EqualShapes) {
  for (int64_t c : kSizes)
    for (int64_t w : kSizes) {
      const Shape s{2, c, 3, w};
      ASSERT_TRUE(check_binary(s, s));
    }
  ASSERT_TRUE(check_binary({1, 256, 56, 56}, {1, 256, 56, 56}));  // split over threads
  ASSERT_TRUE(check_binary({300007}, {300007}));
}

TEST(BinaryFast, PerChannelAndScalar) {
  for (int64_t c : kSizes)
    for (int64_t hw : kSizes) {
      ASSERT_TRUE(check_binary({2, c, hw, 3}, {1, c, 1, 1}));
      ASSERT_TRUE(check_binary({1, c, 1, 1}, {2, c, hw, 3}));
      ASSERT_TRUE(check_binary({c, 1, 1}, {1, c, hw, hw}));
      ASSERT_TRUE(check_binary({2, c, hw}, {}));
      ASSERT_TRUE(check_binary({1}, {2, c, hw}));
    }
  ASSERT_TRUE(check_binary({2, 33, 64, 65}, {1, 33, 1, 1}));  // many runs, split over threads
  ASSERT_TRUE(check_binary({1, 33, 1, 1}, {2, 33, 64, 65}));
  ASSERT_TRUE(check_binary({3, 1000, 17}, {1000, 1}));
  ASSERT_TRUE(check_binary({300001}, {1}));
}

TEST(BinaryFast, OtherBroadcasts) {
  for (int64_t w : kSizes) {
    ASSERT_TRUE(check_binary({4, 5, w}, {w}));             // row vector
    ASSERT_TRUE(check_binary({4, 1, w}, {1, 5, 1}));       // both sides broadcast
    ASSERT_TRUE(check_binary({w, 1}, {1, w}));             // outer product
    ASSERT_TRUE(check_binary({1, 1}, {1}));                // a single element
    ASSERT_TRUE(check_binary({2, 3, 1, w}, {2, 1, 7, 1}));
  }
  ASSERT_TRUE(check_binary({300, 1, 257}, {1, 300, 1}));  // two-sided, split over threads
  ASSERT_TRUE(check_binary({0, 5}, {5}));                  // empty
}

struct ActCase {
  ref::Activation kind;
  double alpha, beta;
  const char* name;
};

TEST(ActivationFast, MatchesReference) {
  const ActCase cases[] = {
      {ref::Activation::kRelu, 0, 0, "Relu"},
      {ref::Activation::kLeakyRelu, 0.01, 0, "LeakyRelu"},
      {ref::Activation::kLeakyRelu, 0.3, 0, "LeakyRelu(0.3)"},
      {ref::Activation::kHardSigmoid, 0.2, 0.5, "HardSigmoid"},
      {ref::Activation::kHardSigmoid, 1.0 / 6, 0.5, "HardSigmoid(1/6)"},
      {ref::Activation::kHardSwish, 0, 0, "HardSwish"},
      {ref::Activation::kSigmoid, 0, 0, "Sigmoid"},
  };
  std::vector<int64_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(0);
  sizes.push_back(1000);
  sizes.push_back(300007);  // split over threads
  for (const ActCase& c : cases) {
    ASSERT_TRUE(fast::activation_supported(c.kind)) << c.name;
    const ref::ActivationParams p{c.kind, c.alpha, c.beta, 0.0};
    const bool exact = c.kind != ref::Activation::kSigmoid;
    for (int64_t n : sizes) {
      auto x = values(n, 3 + static_cast<uint32_t>(n), exact);
      if (!exact && n > 10) {  // the range the approximation must cover, and its ends
        x[0] = -100.f;
        x[1] = 100.f;
        x[2] = -87.f;
        x[3] = 88.f;
        x[4] = kInf;
        x[5] = -kInf;
        x[6] = -0.f;
        x[7] = kNaN;
      }
      std::vector<float> want(static_cast<size_t>(n)), got(want.size(), -5.f);
      ref::activation<float>(p, x.data(), want.data(), n);
      fast::activation_f32(p, x.data(), got.data(), n);
      for (size_t i = 0; i < want.size(); ++i) {
        if (exact) {
          ASSERT_TRUE(same(got[i], want[i])) << c.name << " n=" << n << " element " << i << " x=" << x[i] << ": "
                                             << got[i] << " vs reference " << want[i];
        } else {
          if (std::isnan(want[i])) {
            ASSERT_TRUE(std::isnan(got[i])) << c.name << " n=" << n << " element " << i;
            continue;
          }
          ASSERT_NEAR(got[i], want[i], 1e-7 + 4e-7 * std::fabs(want[i]))
              << c.name << " n=" << n << " element " << i << " x=" << x[i];
        }
      }
    }
  }
}

TEST(ActivationFast, ReluAndClip) {
  std::vector<int64_t> sizes(std::begin(kSizes), std::end(kSizes));
  sizes.push_back(0);
  sizes.push_back(300007);
  const float bounds[][2] = {{0.f, 6.f}, {-1.f, 1.f}, {-kInf, 0.5f}, {-0.5f, kInf}, {-kInf, kInf}, {2.f, -2.f},
                             {0.f, 0.f}};
  for (int64_t n : sizes) {
    const auto x = values(n, 5 + static_cast<uint32_t>(n), true);
    std::vector<float> want(static_cast<size_t>(n)), got(want.size(), -5.f);
    ref::relu_f32(x.data(), want.data(), n);
    fast::relu_f32(x.data(), got.data(), n);
    for (size_t i = 0; i < want.size(); ++i)
      ASSERT_TRUE(same(got[i], want[i])) << "Relu n=" << n << " element " << i << " x=" << x[i];
    for (const auto& bnd : bounds) {
      ref::clip<float>(x.data(), want.data(), n, bnd[0], bnd[1]);
      fast::clip_f32(x.data(), got.data(), n, bnd[0], bnd[1]);
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_TRUE(same(got[i], want[i])) << "Clip(" << bnd[0] << ", " << bnd[1] << ") n=" << n << " element " << i
                                           << " x=" << x[i] << ": " << got[i] << " vs reference " << want[i];
    }
    // In place.
    std::vector<float> y = x;
    ref::relu_f32(x.data(), want.data(), n);
    fast::relu_f32(y.data(), y.data(), n);
    for (size_t i = 0; i < want.size(); ++i) ASSERT_TRUE(same(y[i], want[i])) << "Relu in place n=" << n;
  }
}

// all_finite_f32 finds one NaN or infinity anywhere: first, last and middle elements, on
// vector-width sizes and on sizes split over threads; the largest float, -0 and subnormals
// are finite.
TEST(AllFinite, FindsEveryNonFiniteValue) {
  const float bad[] = {kNaN, -kNaN, kInf, -kInf};
  for (int64_t n : {1, 15, 16, 17, 33, 1000003}) {
    std::vector<float> v = values(n, 11, false);
    v[0] = std::numeric_limits<float>::max();
    if (n > 2) v[1] = -std::numeric_limits<float>::denorm_min(), v[2] = -0.f;
    EXPECT_TRUE(fast::all_finite_f32(v.data(), n)) << n;
    for (int64_t at : {int64_t{0}, n / 2, n - 1})
      for (float b : bad) {
        const float keep = v[static_cast<size_t>(at)];
        v[static_cast<size_t>(at)] = b;
        EXPECT_FALSE(fast::all_finite_f32(v.data(), n)) << "n " << n << ", " << b << " at " << at;
        v[static_cast<size_t>(at)] = keep;
      }
  }
  EXPECT_TRUE(fast::all_finite_f32(nullptr, 0));
}

TEST(ActivationFast, OnlySimpleKindsHaveAFastPath) {
  EXPECT_FALSE(fast::activation_supported(ref::Activation::kTanh));
  EXPECT_FALSE(fast::activation_supported(ref::Activation::kGelu));
}

// Distance in units in the last place between two finite floats of the same sign or zero.
int64_t ulps(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof ia);
  std::memcpy(&ib, &b, sizeof ib);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  return std::llabs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

// Erf: within 2 ulp of std::erf on values from 1e-30 to 10 of both signs, on lengths around the
// vector widths; zeros, infinities and NaN as std::erf gives them.
TEST(ErfFast, WithinTwoUlpOfStdErf) {
  std::vector<float> x;
  for (float v = 1e-30f; v < 10.f; v *= 1.01f) {
    x.push_back(v);
    x.push_back(-v);
  }
  for (float v : {0.f, -0.f, kInf, -kInf, kNaN, 3.9f, 4.f, 0.5f, 1e-3f}) x.push_back(v);
  for (int64_t n : {int64_t{1}, int64_t{3}, int64_t{7}, int64_t{9}, static_cast<int64_t>(x.size())}) {
    std::vector<float> got(static_cast<size_t>(n), 7.f);
    fast::erf_f32(x.data() + x.size() - static_cast<size_t>(n), got.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const float v = x[x.size() - static_cast<size_t>(n) + static_cast<size_t>(i)], want = std::erf(v);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got[static_cast<size_t>(i)])) << v;
        continue;
      }
      EXPECT_LE(ulps(got[static_cast<size_t>(i)], want), 2) << "erf(" << v << ") = " << got[static_cast<size_t>(i)]
                                                           << ", std::erf " << want;
    }
  }
}

}  // namespace
}  // namespace qs::kernels
