// The fast quantizer against the reference, bit for bit, each way it has (quantize_fast.h:
// the choice, by reciprocal with a division fallback near half-integers, and by correction
// where the CPU has it): random values, every half-integer boundary and its float neighbours,
// special values, odd lengths and scales, threaded lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/fast/quantize_fast.h"
#include "kernels/reference/int8.h"

namespace qs::kernels {
namespace {

// One way of quantizing: x -> int8 and x -> float; false where the CPU or scale rules it out.
struct Way {
  const char* name;
  bool (*quantize)(const float*, int8_t*, int64_t, float);
  bool (*fake_quantize)(const float*, float*, int64_t, float);
};

const Way kWays[] = {
    {"quantize_f32_s8",
     [](const float* x, int8_t* q, int64_t n, float s) { return fast::quantize_f32_s8(x, q, n, s), true; },
     [](const float* x, float* y, int64_t n, float s) { return fast::fake_quantize_f32(x, y, n, s), true; }},
    {"by reciprocal",
     [](const float* x, int8_t* q, int64_t n, float s) { return fast::quantize_f32_s8_by_reciprocal(x, q, n, s), true; },
     [](const float* x, float* y, int64_t n, float s) { return fast::fake_quantize_f32_by_reciprocal(x, y, n, s), true; }},
    {"by correction", fast::quantize_f32_s8_by_correction, fast::fake_quantize_f32_by_correction},
};

void expect_same(const std::vector<float>& x, float scale, const char* what) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<int8_t> want(x.size());
  ref::quantize_f32_s8(x.data(), want.data(), n, scale);
  std::vector<float> fwant(x.size());
  ref::fake_quantize_f32(x.data(), fwant.data(), n, scale);
  for (const Way& way : kWays) {
    std::vector<int8_t> got(x.size(), 99);
    std::vector<float> fgot(x.size(), -1.f);
    if (!way.quantize(x.data(), got.data(), n, scale)) continue;
    EXPECT_TRUE(way.fake_quantize(x.data(), fgot.data(), n, scale)) << way.name;
    int bad = 0;
    for (size_t i = 0; i < x.size() && bad < 5; ++i) {
      if (want[i] != got[i]) {
        ADD_FAILURE() << way.name << ", " << what << " scale=" << scale << " x=" << x[i] << " (" << std::hexfloat << x[i]
                      << std::defaultfloat << "): quantize " << int(got[i]) << ", reference " << int(want[i]);
        ++bad;
      }
      if (std::memcmp(&fwant[i], &fgot[i], sizeof(float)) != 0) {
        ADD_FAILURE() << way.name << ", " << what << " scale=" << scale << " x=" << x[i] << ": fake quantize " << fgot[i]
                      << ", reference " << fwant[i];
        ++bad;
      }
    }
  }
}

std::vector<float> scales() {
  std::vector<float> s = {1.f, 0.5f, 1.f / 127.f, 0.0173f, 3.3e-5f, 7.77f, 1e-3f, 0.1f, 0.3f, 1.1754944e-38f /* normal min */};
  std::mt19937 gen(3);
  std::uniform_real_distribution<float> e(-12.f, 3.f);
  for (int i = 0; i < 40; ++i) s.push_back(std::pow(10.f, e(gen)));
  return s;
}

TEST(QuantizeFast, RandomValuesMatchTheReference) {
  std::mt19937 gen(1);
  for (float s : scales()) {
    std::normal_distribution<float> d(0.f, 60.f * s);
    std::vector<float> x(1000 + 7);
    for (float& v : x) v = d(gen);
    expect_same(x, s, "random");
  }
}

// x near (k + 0.5) * s: the quotient's rounding decides between k and k + 1, where the
// reciprocal can be off by an ulp.
TEST(QuantizeFast, HalfIntegerBoundariesMatchTheReference) {
  for (float s : scales()) {
    std::vector<float> x;
    for (int k = -130; k <= 130; ++k) {
      float v = (static_cast<float>(k) + 0.5f) * s;
      for (int step = 0; step < 3; ++step) v = std::nextafter(v, -INFINITY);
      for (int step = 0; step < 7; ++step) {
        x.push_back(v);
        v = std::nextafter(v, INFINITY);
      }
    }
    expect_same(x, s, "boundary");
  }
}

TEST(QuantizeFast, SpecialValuesAndScales) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x = {0.f, -0.f, inf, -inf, nan, -nan, 1e30f, -1e30f, 1e-40f, -1e-40f, 127.5f, -128.5f, 126.5f, 0.5f,
                          -0.5f, 1.5f, 2.5f, std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()};
  for (float s : {1.f, 0.25f, 1e-40f /* subnormal */, 0.f, -1.f, nan, inf, 1e38f, 3e-39f}) expect_same(x, s, "special");
}

TEST(QuantizeFast, LengthsAroundTheBlockAndThreadedSizes) {
  std::mt19937 gen(9);
  std::normal_distribution<float> d(0.f, 1.f);
  for (int64_t n : {0, 1, 15, 16, 17, 31, 33, 1000, 300001}) {
    std::vector<float> x(static_cast<size_t>(n));
    for (float& v : x) v = d(gen) * 100.f;
    expect_same(x, 0.37f, "lengths");
  }
}

}  // namespace
}  // namespace qs::kernels
