// Gemm / MatMul kernels: the reference against hand-computed values, and oneDNN against
// the reference on sizes around 8 / 16 / 64 with transposes and broadcasting.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "kernels/fast/gemm_onednn.h"
#include "kernels/reference/gemm.h"
#include "random_values.h"

namespace qs::kernels {
namespace {

using ref::GemmParams;
using ref::MatMulParams;

void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f * (1.f + std::fabs(want[i])))) {
      ADD_FAILURE() << what << ": element " << i << " is " << got[i] << ", reference " << want[i];
      ++bad;
    }
}

// ---- reference against hand-computed values ----

TEST(GemmReference, PlainAndTransposed) {
  // A = [[1,2,3],[4,5,6]], B = [[1,0],[0,1],[1,1]]: A*B = [[4,5],[10,11]].
  const std::vector<float> a{1, 2, 3, 4, 5, 6}, b{1, 0, 0, 1, 1, 1};
  const std::vector<float> at{1, 4, 2, 5, 3, 6}, bt{1, 0, 1, 0, 1, 1};
  std::vector<float> y(4);
  GemmParams p{2, 2, 3};
  ref::gemm_f32(p, a.data(), b.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{4, 5, 10, 11}));
  p.trans_a = p.trans_b = true;
  ref::gemm_f32(p, at.data(), bt.data(), nullptr, y.data());
  EXPECT_EQ(y, (std::vector<float>{4, 5, 10, 11}));
}

TEST(GemmReference, AlphaBetaAndBroadcastC) {
  const std::vector<float> a{1, 2, 3, 4, 5, 6}, b{1, 0, 0, 1, 1, 1};
  std::vector<float> y(4);
  GemmParams p{2, 2, 3};
  p.alpha = 2.f;
  p.beta = 0.5f;
  const std::vector<float> row{10, 20}, col{10, 20}, scalar{4}, full{1, 2, 3, 4};
  p.c_rows = 1, p.c_cols = 2;  // C [N]
  ref::gemm_f32(p, a.data(), b.data(), row.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{13, 20, 25, 32}));
  p.c_rows = 2, p.c_cols = 1;  // C [M,1]
  ref::gemm_f32(p, a.data(), b.data(), col.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{13, 15, 30, 32}));
  p.c_rows = 1, p.c_cols = 1;  // scalar C
  ref::gemm_f32(p, a.data(), b.data(), scalar.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{10, 12, 22, 24}));
  p.c_rows = 2, p.c_cols = 2;
  ref::gemm_f32(p, a.data(), b.data(), full.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{8.5f, 11, 21.5f, 24}));
}

TEST(MatMulReference, ShapesOfVectorsAndBatches) {
  std::vector<int64_t> out;
  ref::matmul_params({3}, {3}, &out);
  EXPECT_EQ(out, (std::vector<int64_t>{}));
  ref::matmul_params({3}, {2, 3, 4}, &out);
  EXPECT_EQ(out, (std::vector<int64_t>{2, 4}));
  ref::matmul_params({2, 5, 3}, {3}, &out);
  EXPECT_EQ(out, (std::vector<int64_t>{2, 5}));
  auto p = ref::matmul_params({2, 1, 4, 3}, {5, 3, 6}, &out);
  EXPECT_EQ(out, (std::vector<int64_t>{2, 5, 4, 6}));
  EXPECT_EQ(p.batch, 10);
  // Output batch (i, j) reads A batch i and B batch j.
  EXPECT_EQ(p.a_offset[6], 1 * 12);
  EXPECT_EQ(p.b_offset[6], 1 * 18);
}

TEST(MatMulReference, BroadcastValues) {
  // A [2,1,2] = two row vectors; B [2,2] shared.
  const std::vector<float> a{1, 2, 3, 4}, b{1, 10, 100, 1000};
  std::vector<int64_t> out;
  auto p = ref::matmul_params({2, 1, 2}, {2, 2}, &out);
  std::vector<float> y(4);
  ref::matmul_f32(p, a.data(), b.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{201, 2010, 403, 4030}));
  // Dot product of vectors.
  p = ref::matmul_params({2}, {2}, &out);
  ref::matmul_f32(p, a.data(), b.data(), y.data());
  EXPECT_EQ(y[0], 21.f);
}

TEST(MatMulReference, IntegerTypesWrapLikeNumpy) {
  const std::vector<int32_t> a{2147483647, 1}, b{2, 3};
  std::vector<int64_t> out;
  auto p = ref::matmul_params({1, 2}, {2, 1}, &out);
  int32_t y = 0;
  ref::matmul_i32(p, a.data(), b.data(), &y);
  EXPECT_EQ(y, static_cast<int32_t>(2147483647u * 2u + 3u));
  const std::vector<int64_t> a64{-3, 4}, b64{5, -6};
  int64_t y64 = 0;
  ref::matmul_i64(p, a64.data(), b64.data(), &y64);
  EXPECT_EQ(y64, -39);
  const std::vector<double> ad{0.5, 0.25}, bd{2, 4};
  double yd = 0;
  ref::matmul_f64(p, ad.data(), bd.data(), &yd);
  EXPECT_EQ(yd, 2.0);
}

// ---- oneDNN against the reference ----

void check_gemm(const GemmParams& p, const std::string& name) {
  const auto a = random_values(p.M * p.K, 1), b = random_values(p.K * p.N, 2);
  const auto c = random_values(std::max<int64_t>(1, p.c_rows * p.c_cols), 3);
  std::vector<float> want(static_cast<size_t>(p.M * p.N));
  ref::gemm_f32(p, a.data(), b.data(), c.data(), want.data());
  for (bool constant : {true, false}) {
    std::string why;
    auto fast = fast::GemmOneDnn::Create(p, constant ? b.data() : nullptr, &why);
    ASSERT_NE(fast, nullptr) << name << ": oneDNN declined: " << why;
    std::vector<float> got(want.size(), -777.f);
    fast->run(a.data(), b.data(), c.data(), got.data());
    expect_close(got, want, name + (constant ? " const-b" : " runtime-b"));
  }
}

TEST(GemmOneDnn, MatchesReference) {
  const int64_t sizes[] = {1, 7, 8, 9, 15, 16, 17, 63, 64, 65};
  int i = 0;
  for (int64_t m : sizes)
    for (int64_t n : {sizes[(i + 3) % 10], sizes[(i + 7) % 10]}) {
      const int64_t k = sizes[(i * 3 + 1) % 10];
      GemmParams p{m, n, k};
      p.trans_a = i % 2 == 1;
      p.trans_b = i % 3 != 0;
      // C shapes cycle through none, [N], [M,1], scalar, [M,N]; alpha/beta vary.
      const int kind = i % 5;
      p.c_rows = kind == 0 ? 0 : kind == 1 ? 1 : kind == 2 ? m : kind == 3 ? 1 : m;
      p.c_cols = kind == 0 ? 0 : kind == 1 ? n : kind == 2 ? 1 : kind == 3 ? 1 : n;
      p.alpha = i % 4 == 0 ? 1.f : 0.75f;
      p.beta = i % 3 == 0 ? 1.f : -1.5f;
      check_gemm(p, "gemm m" + std::to_string(m) + " n" + std::to_string(n) + " k" + std::to_string(k) + " case" +
                        std::to_string(i));
      ++i;
    }
  GemmParams zero_beta{9, 17, 8};
  zero_beta.c_rows = 1, zero_beta.c_cols = 17, zero_beta.beta = 0.f;
  check_gemm(zero_beta, "beta zero");
}

void check_matmul(const std::vector<int64_t>& as, const std::vector<int64_t>& bs) {
  std::vector<int64_t> out;
  const MatMulParams p = ref::matmul_params(as, bs, &out);
  int64_t an = 1, bn = 1;
  for (int64_t d : as) an *= d;
  for (int64_t d : bs) bn *= d;
  const auto a = random_values(an, 4), b = random_values(bn, 5);
  std::vector<float> want(static_cast<size_t>(p.batch * p.M * p.N));
  ref::matmul_f32(p, a.data(), b.data(), want.data());
  const std::string name = "matmul a" + std::to_string(as.size()) + "d b" + std::to_string(bs.size()) + "d M" +
                           std::to_string(p.M) + " N" + std::to_string(p.N) + " K" + std::to_string(p.K) +
                           " batch" + std::to_string(p.batch);
  for (bool constant : {true, false}) {
    std::string why;
    auto fast = fast::MatMulOneDnn::Create(p, constant ? b.data() : nullptr, &why);
    ASSERT_NE(fast, nullptr) << name << ": oneDNN declined: " << why;
    std::vector<float> got(want.size(), -777.f);
    fast->run(a.data(), b.data(), got.data());
    expect_close(got, want, name + (constant ? " const-b" : " runtime-b"));
  }
}

TEST(MatMulOneDnn, MatchesReference) {
  for (int64_t s : {1, 7, 8, 9, 15, 16, 17, 63, 64, 65}) {
    check_matmul({s, 17}, {17, 9});
    check_matmul({3, 16}, {16, s});
    check_matmul({8, s}, {s, 65});
  }
  check_matmul({2, 3, 9, 16}, {16, 17});     // B shared: one tall product
  check_matmul({4, 15, 8}, {4, 8, 33});      // equal batches: batched primitive
  check_matmul({9, 16}, {3, 16, 7});         // A shared: loop over B's batches
  check_matmul({2, 1, 7, 9}, {1, 3, 9, 8});  // both broadcast
  check_matmul({17}, {17, 9});               // 1-D operands
  check_matmul({5, 17}, {17});
  check_matmul({64}, {64});
  check_matmul({3, 1, 65}, {65, 64});
}

// One Gemm kernel run from several threads at once gives every thread the reference's answer.
TEST(GemmOneDnn, ConcurrentRunsFromSeveralThreads) {
  GemmParams p{65, 64, 63};
  p.trans_b = true;
  p.alpha = 0.5f;
  p.c_rows = 1, p.c_cols = 64;
  const auto b = random_values(64 * 63, 2), c = random_values(64, 3);
  std::string why;
  auto fast = fast::GemmOneDnn::Create(p, b.data(), &why);
  ASSERT_NE(fast, nullptr) << why;
  constexpr int kThreads = 4;
  std::vector<std::vector<float>> as, want, got;
  for (int t = 0; t < kThreads; ++t) {
    as.push_back(random_values(65 * 63, 10 + t));
    want.emplace_back(65 * 64);
    got.emplace_back(65 * 64);
    ref::gemm_f32(p, as[t].data(), b.data(), c.data(), want[t].data());
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 20; ++rep) fast->run(as[t].data(), nullptr, c.data(), got[t].data());
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) expect_close(got[t], want[t], "thread " + std::to_string(t));
}

TEST(MatMulOneDnn, EmptyIsDeclined) {
  std::vector<int64_t> out;
  std::string why;
  EXPECT_EQ(fast::MatMulOneDnn::Create(ref::matmul_params({0, 4}, {4, 3}, &out), nullptr, &why), nullptr);
  EXPECT_EQ(why, "empty operand");
}

}  // namespace
}  // namespace qs::kernels
