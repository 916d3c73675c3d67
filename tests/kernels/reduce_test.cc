// Reduction reference kernels: hand-computed values, and every op over every axis subset of
// a rank-4 tensor against a brute-force per-output computation.
#include "kernels/reference/reduce.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace qs::kernels::ref {
namespace {

TEST(Reduce, HandValuesOverOneAxis) {
  const std::vector<float> x{1, 2, -3, 4, 5, 6};  // [2, 3]
  ReduceParams p{{2, 3}, {false, true}, ReduceOp::kSum};
  std::vector<float> y(2);
  auto run = [&](ReduceOp op) {
    p.op = op;
    reduce_f32(p, x.data(), y.data());
    return y;
  };
  EXPECT_EQ(run(ReduceOp::kSum), (std::vector<float>{0, 15}));
  EXPECT_EQ(run(ReduceOp::kMean), (std::vector<float>{0, 5}));
  EXPECT_EQ(run(ReduceOp::kMax), (std::vector<float>{2, 6}));
  EXPECT_EQ(run(ReduceOp::kMin), (std::vector<float>{-3, 4}));
  EXPECT_EQ(run(ReduceOp::kProd), (std::vector<float>{-6, 120}));
  EXPECT_EQ(run(ReduceOp::kL1), (std::vector<float>{6, 15}));
  EXPECT_EQ(run(ReduceOp::kSumSquare), (std::vector<float>{14, 77}));
  EXPECT_FLOAT_EQ(run(ReduceOp::kL2)[1], std::sqrt(77.f));
  EXPECT_FLOAT_EQ(run(ReduceOp::kLogSum)[1], std::log(15.f));
  EXPECT_NEAR(run(ReduceOp::kLogSumExp)[0], std::log(std::exp(1.f) + std::exp(2.f) + std::exp(-3.f)), 1e-6f);
  // Over axis 0 instead: the kept dim is the contiguous one.
  p.reduced = {true, false};
  y.resize(3);
  EXPECT_EQ(run(ReduceOp::kSum), (std::vector<float>{5, 7, 3}));
}

TEST(Reduce, LogSumExpOfLargeValuesDoesNotOverflow) {
  const std::vector<double> x{1000, 1000};
  ReduceParams p{{2}, {true}, ReduceOp::kLogSumExp};
  double y = 0;
  reduce_f64(p, x.data(), &y);
  EXPECT_NEAR(y, 1000 + std::log(2.0), 1e-9);
}

TEST(Reduce, IntegersAndEmptyReductions) {
  const std::vector<int32_t> x{7, -2, 5, 1};
  ReduceParams p{{4}, {true}, ReduceOp::kMean};
  int32_t y = 0;
  reduce_i32(p, x.data(), &y);
  EXPECT_EQ(y, 2);  // 11 / 4, truncated
  p.op = ReduceOp::kMax;
  reduce_i32(p, x.data(), &y);
  EXPECT_EQ(y, 7);
  // Reducing over a zero-sized dim yields the identity and must not divide by zero.
  ReduceParams e{{2, 0}, {false, true}, ReduceOp::kMean};
  std::vector<int32_t> yi(2, 99);
  reduce_i32(e, nullptr, yi.data());
  EXPECT_EQ(yi, (std::vector<int32_t>{0, 0}));
  e.op = ReduceOp::kProd;
  reduce_i32(e, nullptr, yi.data());
  EXPECT_EQ(yi, (std::vector<int32_t>{1, 1}));
  std::vector<float> yf(2);
  e.op = ReduceOp::kMax;
  reduce_f32(e, nullptr, yf.data());
  EXPECT_EQ(yf[0], -std::numeric_limits<float>::infinity());
}

double naive(ReduceOp op, const std::vector<double>& v) {
  double acc = op == ReduceOp::kProd ? 1 : 0;
  if (op == ReduceOp::kMax || op == ReduceOp::kLogSumExp) acc = -INFINITY;
  if (op == ReduceOp::kMin) acc = INFINITY;
  for (double e : v) {
    switch (op) {
      case ReduceOp::kMax: acc = std::max(acc, e); break;
      case ReduceOp::kMin: acc = std::min(acc, e); break;
      case ReduceOp::kProd: acc *= e; break;
      case ReduceOp::kL1: acc += std::fabs(e); break;
      case ReduceOp::kL2:
      case ReduceOp::kSumSquare: acc += e * e; break;
      case ReduceOp::kLogSumExp: break;
      default: acc += e;
    }
  }
  if (op == ReduceOp::kLogSumExp) {
    acc = 0;
    for (double e : v) acc += std::exp(e);
    acc = std::log(acc);
  }
  if (op == ReduceOp::kMean) acc /= static_cast<double>(v.size());
  if (op == ReduceOp::kL2) acc = std::sqrt(acc);
  if (op == ReduceOp::kLogSum) acc = std::log(acc);
  return acc;
}

TEST(Reduce, EveryAxisSubsetMatchesBruteForce) {
  const std::vector<int64_t> shape{2, 3, 1, 5};
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> val(0.5f, 1.5f);  // positive so LogSum is defined
  std::vector<float> x(30);
  for (float& v : x) v = val(rng);
  for (ReduceOp op : {ReduceOp::kSum, ReduceOp::kMean, ReduceOp::kMax, ReduceOp::kMin, ReduceOp::kProd, ReduceOp::kL1,
                      ReduceOp::kL2, ReduceOp::kSumSquare, ReduceOp::kLogSum, ReduceOp::kLogSumExp}) {
    for (int mask = 0; mask < 16; ++mask) {
      ReduceParams p{shape, {}, op};
      std::vector<int64_t> out_dims;
      for (int d = 0; d < 4; ++d) {
        p.reduced.push_back((mask >> d) & 1);
        out_dims.push_back(p.reduced.back() ? 1 : shape[d]);
      }
      const int64_t out_n = out_dims[0] * out_dims[1] * out_dims[2] * out_dims[3];
      std::vector<std::vector<double>> groups(static_cast<size_t>(out_n));
      for (int64_t a = 0; a < 2; ++a)
        for (int64_t b = 0; b < 3; ++b)
          for (int64_t d = 0; d < 5; ++d) {
            const int64_t idx[4] = {a, b, 0, d};
            int64_t o = 0;
            for (int k = 0; k < 4; ++k) o = o * out_dims[k] + (p.reduced[k] ? 0 : idx[k]);
            groups[static_cast<size_t>(o)].push_back(x[static_cast<size_t>((a * 3 + b) * 5 + d)]);
          }
      std::vector<float> y(static_cast<size_t>(out_n));
      reduce_f32(p, x.data(), y.data());
      for (int64_t o = 0; o < out_n; ++o)
        ASSERT_NEAR(y[static_cast<size_t>(o)], naive(op, groups[static_cast<size_t>(o)]), 1e-5)
            << "op " << static_cast<int>(op) << " mask " << mask << " out " << o;
    }
  }
}

TEST(ArgReduce, TiesAndAxes) {
  const std::vector<float> x{1, 4, 4, 0, -1, -1};  // [2, 3]
  std::vector<int64_t> y(2);
  arg_reduce_f32(ArgReduceParams{2, 3, 1, true, false}, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int64_t>{1, 0}));
  arg_reduce_f32(ArgReduceParams{2, 3, 1, true, true}, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int64_t>{2, 0}));
  arg_reduce_f32(ArgReduceParams{2, 3, 1, false, false}, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int64_t>{0, 1}));
  arg_reduce_f32(ArgReduceParams{2, 3, 1, false, true}, x.data(), y.data());
  EXPECT_EQ(y, (std::vector<int64_t>{0, 2}));
  // Along axis 0 (n = 2, inner = 3).
  std::vector<int64_t> y3(3);
  arg_reduce_f32(ArgReduceParams{1, 2, 3, true, false}, x.data(), y3.data());
  EXPECT_EQ(y3, (std::vector<int64_t>{0, 0, 0}));
  const std::vector<int64_t> xi{5, 9, 9};
  int64_t yi = 0;
  arg_reduce_i64(ArgReduceParams{1, 3, 1, true, true}, xi.data(), &yi);
  EXPECT_EQ(yi, 2);
}

}  // namespace
}  // namespace qs::kernels::ref
