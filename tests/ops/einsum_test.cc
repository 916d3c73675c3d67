// Einsum (ops/gemm.cc, kernels/reference/einsum.cc) beyond ONNX's node tests: broadcast ellipsis
// axes, the implicit output (the letters used once, in alphabetical order), integer inputs, and
// the errors of bad equations.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ops/op_case.h"

namespace qs::ops {
namespace {

using ::testing::HasSubstr;

std::vector<float> iota(int64_t n, float start = 1.f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (size_t i = 0; i < v.size(); ++i) v[i] = start + static_cast<float>(i) * 0.5f;
  return v;
}

TEST(Einsum, BroadcastEllipsisImplicitOutputAndErrors) {
  // A [2,1,2,3] and B [3,3,2]: the "..." axes [2,1] and [3] broadcast to [2,3].
  const auto av = iota(12), bv = iota(18, -2.f);
  const Tensor a = Tensor::FromVector<float>({2, 1, 2, 3}, av), b = Tensor::FromVector<float>({3, 3, 2}, bv);
  auto out = OpCase("Einsum", 12).str("equation", "...ij,...jk->...ik").input(DType::kFloat32, {2, 1, 2, 3})
                 .input(DType::kFloat32, {3, 3, 2}).run({a, b});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{2, 3, 2, 2}));
  for (int p = 0; p < 2; ++p)
    for (int q = 0; q < 3; ++q)
      for (int i = 0; i < 2; ++i)
        for (int k = 0; k < 2; ++k) {
          float want = 0.f;
          for (int j = 0; j < 3; ++j) want += av[(p * 2 + i) * 3 + j] * bv[(q * 3 + j) * 2 + k];
          EXPECT_FLOAT_EQ(out[0].values<float>()[((p * 3 + q) * 2 + i) * 2 + k], want) << p << q << i << k;
        }
  // Implicit output: "ba" lists b, a, so the output is a, b: the transpose.
  const Tensor m = Tensor::FromVector<float>({2, 3}, iota(6));
  auto t = OpCase("Einsum", 12).str("equation", "ba").input(DType::kFloat32, {2, 3}).run({m});
  ASSERT_EQ(t[0].shape(), (Shape{3, 2}));
  EXPECT_FLOAT_EQ(t[0].values<float>()[1], m.values<float>()[3]);
  // Both letters twice: a full contraction to a scalar, in int64.
  const Tensor ia = Tensor::FromVector<int64_t>({2, 2}, std::vector<int64_t>{1, 2, 3, 4});
  auto dot = OpCase("Einsum", 12).str("equation", "ij, ij").input(DType::kInt64, {2, 2}).input(DType::kInt64, {2, 2})
                 .run({ia, ia});
  ASSERT_EQ(dot[0].shape(), (Shape{}));
  EXPECT_EQ(dot[0].values<int64_t>()[0], 30);

  EXPECT_THAT(OpCase("Einsum", 12).str("equation", "ij,jk").input(DType::kFloat32, {2, 3}).input(DType::kFloat32, {4, 2}).error(),
              HasSubstr("node 'n' (Einsum): equation 'ij,jk': label 'j' has sizes 3 and 4"));
  EXPECT_THAT(OpCase("Einsum", 12).str("equation", "i1").input(DType::kFloat32, {2, 3}).error(), HasSubstr("'1' is not a letter"));
  EXPECT_THAT(OpCase("Einsum", 12).str("equation", "ij,jk->ik").input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("has 2 input terms for 1 inputs"));
  EXPECT_THAT(OpCase("Einsum", 12).str("equation", "ij->iz").input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("output label 'z' is in no input"));
  EXPECT_THAT(OpCase("Einsum", 12).str("equation", "ijk").input(DType::kFloat32, {2, 3}).error(),
              HasSubstr("has 3 labels for input 0 of shape [2,3]"));
  // Four unrelated axes of 10^4 summed together: 10^16 products, refused rather than run for days.
  EXPECT_THAT(OpCase("Einsum", 12).str("equation", "a,b,c,d->").input(DType::kFloat32, {10000}).input(DType::kFloat32, {10000})
                  .input(DType::kFloat32, {10000}).input(DType::kFloat32, {10000}).error(),
              HasSubstr("the reference Einsum stops at"));
}

}  // namespace
}  // namespace qs::ops
