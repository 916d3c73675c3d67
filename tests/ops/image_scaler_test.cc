// ImageScaler (ops/normalization.cc), the experimental op of opsets 1-9 that old exporters put
// at a network's input: y = scale * x + bias[c], by the fast and the reference kernel.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "ops/op_case.h"

namespace qs::ops {
namespace {

TEST(ImageScaler, ScalesThenAddsEachChannelsBias) {
  // N=2, C=3, H=1, W=2.
  std::vector<float> x(12);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i) * 10.f - 40.f;
  const Tensor in = Tensor::FromVector<float>({2, 3, 1, 2}, x);
  const std::vector<float> bias = {0.5f, -1.f, 2.f};
  for (bool fast : {true, false}) {
    OpCase c("ImageScaler", 8);
    c.float_attr("scale", 0.25f).floats("bias", bias).input(DType::kFloat32, {2, 3, 1, 2});
    if (!fast) c.reference();
    auto out = c.run({in});
    ASSERT_EQ(out.size(), 1u);
    ASSERT_EQ(out[0].shape(), (Shape{2, 3, 1, 2}));
    for (size_t i = 0; i < x.size(); ++i) {
      const size_t channel = (i / 2) % 3;
      EXPECT_EQ(out[0].data<float>()[i], 0.25f * x[i] + bias[channel]) << "element " << i << (fast ? " fast" : " ref");
    }
  }
}

TEST(ImageScaler, RejectsABiasPerChannelMismatchAndNonImages) {
  EXPECT_THAT(OpCase("ImageScaler", 8).floats("bias", {1.f, 2.f}).input(DType::kFloat32, {1, 3, 4, 4}).error(),
              ::testing::HasSubstr("node 'n' (ImageScaler): bias has 2 values, expected one per channel (3)"));
  EXPECT_THAT(OpCase("ImageScaler", 8).input(DType::kFloat32, {3, 4, 4}).error(),
              ::testing::HasSubstr("expected NCHW (rank 4)"));
  // No bias: zeros.
  auto out = OpCase("ImageScaler", 8).float_attr("scale", 2.f).input(DType::kFloat32, {1, 2, 1, 1})
                 .run({Tensor::FromVector<float>({1, 2, 1, 1}, std::vector<float>{3.f, -4.f})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data<float>()[0], 6.f);
  EXPECT_EQ(out[0].data<float>()[1], -8.f);
}

}  // namespace
}  // namespace qs::ops
