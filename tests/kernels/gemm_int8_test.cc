// INT8 Gemm / MatMul: the reference against hand-computed values and the int32 MatMul
// reference, and oneDNN against the reference, exactly.
#include <gtest/gtest.h>

#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernels/fast/gemm_int8_onednn.h"
#include "kernels/reference/gemm.h"
#include "kernels/reference/gemm_int8.h"
#include "kernels/reference/int8.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using ref::GemmParams;
using ref::MatMulParams;
using V = std::vector<int64_t>;

std::string first_mismatch(const std::vector<int32_t>& want, const std::vector<int32_t>& got) {
  for (size_t i = 0; i < want.size(); ++i)
    if (want[i] != got[i])
      return "first mismatch at " + std::to_string(i) + ": want " + std::to_string(want[i]) + ", got " +
             std::to_string(got[i]);
  return "";
}

std::string describe(const GemmParams& p) {
  std::ostringstream o;
  o << "Gemm M=" << p.M << " N=" << p.N << " K=" << p.K << " trans_a=" << p.trans_a << " trans_b=" << p.trans_b;
  return o.str();
}

std::string shape_str(const V& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

int64_t prod(const V& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

// ---- reference ----

TEST(GemmInt8Reference, HandComputedWithTransposes) {
  // op(a) = [[1, -2, 3], [-128, 127, 0]], op(b) = [[1, 0], [2, -1], [-127, 5]]
  const std::vector<int8_t> a{1, -2, 3, -128, 127, 0}, a_t{1, -128, -2, 127, 3, 0};
  const std::vector<int8_t> b{1, 0, 2, -1, -127, 5}, b_t{1, 2, -127, 0, -1, 5};
  const std::vector<int32_t> want{1 - 4 - 381, 2 + 15, -128 + 254, -127};
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      GemmParams p{2, 2, 3, ta, tb};
      std::vector<int32_t> acc(4);
      ref::gemm_s8s8s32(p, (ta ? a_t : a).data(), (tb ? b_t : b).data(), acc.data());
      EXPECT_EQ(acc, want) << describe(p);
    }
}

TEST(GemmInt8Reference, MatMulMatchesInt32Reference) {
  for (const auto& [as, bs] : std::vector<std::pair<V, V>>{{{3, 5, 7}, {7, 4}}, {{2, 1, 3, 9}, {4, 9, 5}}, {{9}, {2, 9, 3}}}) {
    V out;
    const MatMulParams p = ref::matmul_params(as, bs, &out);
    const auto a = random_s8(prod(as), -128, 1), b = random_s8(prod(bs), -127, 2);
    const std::vector<int32_t> a32(a.begin(), a.end()), b32(b.begin(), b.end());
    std::vector<int32_t> want(static_cast<size_t>(prod(out))), got(want.size());
    ref::matmul_i32(p, a32.data(), b32.data(), want.data());
    ref::matmul_s8s8s32(p, a.data(), b.data(), got.data());
    EXPECT_EQ(first_mismatch(want, got), "") << shape_str(as) << " x " << shape_str(bs);
  }
}

// ---- oneDNN against the reference, exactly ----

void expect_gemm_matches(const GemmParams& p, const std::vector<int8_t>& a, const std::vector<int8_t>& b) {
  std::string why;
  auto fast = fast::GemmS8OneDnn::Create(p, b.data(), &why);
  ASSERT_NE(fast, nullptr) << describe(p) << ": oneDNN declined: " << why;
  std::vector<int32_t> want(static_cast<size_t>(p.M * p.N)), got(want.size(), 12345);
  ref::gemm_s8s8s32(p, a.data(), b.data(), want.data());
  fast->run(a.data(), got.data());
  EXPECT_EQ(first_mismatch(want, got), "") << describe(p) << " impl=" << fast->impl_info();
}

TEST(GemmInt8OneDnn, MatchesReferenceExactly) {
  const V sizes{1, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65};
  uint32_t seed = 10;
  for (size_t i = 0; i < sizes.size(); ++i)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        GemmParams p{sizes[i], sizes[(i + 4) % sizes.size()], sizes[(i + 9) % sizes.size()], ta, tb};
        p.alpha = 0.5f;  // ignored by the int8 kernels
        expect_gemm_matches(p, random_s8(p.M * p.K, -128, seed), random_s8(p.K * p.N, -127, seed + 1));
        seed += 2;
      }
  // a deep K and a wide N
  expect_gemm_matches(GemmParams{5, 1000, 2048}, random_s8(5 * 2048, -128, 1), random_s8(2048 * 1000, -127, 2));
}

TEST(GemmInt8OneDnn, ExtremeValuesAreExact) {
  const GemmParams p{4, 33, 4096, false, true};
  const std::vector<int8_t> a(static_cast<size_t>(p.M * p.K), -128);
  std::vector<int8_t> b(static_cast<size_t>(p.K * p.N));
  for (size_t i = 0; i < b.size(); ++i) b[i] = (i / 5) % 2 ? int8_t{127} : int8_t{-127};
  expect_gemm_matches(p, a, b);
  expect_gemm_matches(p, std::vector<int8_t>(a.size(), 127), b);
}

TEST(GemmInt8OneDnn, DeclinesKThatCouldOverflow) {
  const GemmParams p{1, 1, ref::kMaxInt8Reduction + 1};
  const std::vector<int8_t> b(static_cast<size_t>(p.K), 1);
  std::string why;
  EXPECT_EQ(fast::GemmS8OneDnn::Create(p, b.data(), &why), nullptr);
  EXPECT_NE(why.find("overflow"), std::string::npos) << why;
}

TEST(MatMulInt8OneDnn, BatchBroadcastMatchesReferenceExactly) {
  const std::vector<std::pair<V, V>> cases{
      {{17, 33}, {33, 9}},            // 2-D
      {{3, 7, 16}, {16, 65}},         // B shared: one tall product
      {{4, 9, 31}, {4, 31, 8}},       // batched, no broadcast
      {{2, 1, 5, 17}, {1, 3, 17, 7}}, // both broadcast: loop
      {{1, 8, 15}, {3, 15, 1}},       // A broadcast over B's batches
      {{32}, {2, 32, 9}},             // 1-D A
      {{2, 6, 64}, {64}},             // 1-D B
      {{2, 3, 1, 33}, {3, 33, 17}},   // M = 1
  };
  uint32_t seed = 50;
  for (const auto& [as, bs] : cases) {
    V out;
    const MatMulParams p = ref::matmul_params(as, bs, &out);
    const auto a = random_s8(prod(as), -128, seed), b = random_s8(prod(bs), -127, seed + 1);
    seed += 2;
    std::string why;
    auto fast = fast::MatMulS8OneDnn::Create(p, b.data(), &why);
    ASSERT_NE(fast, nullptr) << shape_str(as) << " x " << shape_str(bs) << ": oneDNN declined: " << why;
    std::vector<int32_t> want(static_cast<size_t>(prod(out))), got(want.size(), 12345);
    ref::matmul_s8s8s32(p, a.data(), b.data(), want.data());
    fast->run(a.data(), got.data());
    EXPECT_EQ(first_mismatch(want, got), "") << shape_str(as) << " x " << shape_str(bs) << " impl=" << fast->impl_info();
  }
}

TEST(GemmInt8OneDnn, WeightsAreCopiedAndRunsAreThreadSafe) {
  const GemmParams p{37, 65, 129, false, true};
  auto b = random_s8(p.K * p.N, -127, 3);
  std::string why;
  auto fast = fast::GemmS8OneDnn::Create(p, b.data(), &why);
  ASSERT_NE(fast, nullptr) << why;
  std::vector<std::vector<int8_t>> as;
  std::vector<std::vector<int32_t>> want;
  for (uint32_t t = 0; t < 4; ++t) {
    as.push_back(random_s8(p.M * p.K, -128, 200 + t));
    want.emplace_back(static_cast<size_t>(p.M * p.N));
    ref::gemm_s8s8s32(p, as.back().data(), b.data(), want.back().data());
  }
  std::fill(b.begin(), b.end(), int8_t{0});  // the kernel holds its own copy
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      std::vector<int32_t> got(want[t].size());
      for (int rep = 0; rep < 50 && errors[t].empty(); ++rep) {
        fast->run(as[t].data(), got.data());
        errors[t] = first_mismatch(want[t], got);
      }
    });
  for (auto& th : threads) th.join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
}

}  // namespace
}  // namespace qs::kernels
