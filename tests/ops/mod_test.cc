// Mod (ops/elementwise.cc) beyond ONNX's node tests: a zero divisor and the minimum % -1 give 0
// instead of trapping, and floats need fmod=1.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <vector>

#include "ops/op_case.h"

namespace qs::ops {
namespace {

TEST(Mod, ZeroDivisorAndOverflowGiveZeroFloatsNeedFmod) {
  const int32_t lo = std::numeric_limits<int32_t>::min();
  const Tensor a = Tensor::FromVector<int32_t>({4}, std::vector<int32_t>{7, -7, lo, 5});
  const Tensor b = Tensor::FromVector<int32_t>({4}, std::vector<int32_t>{-3, 3, -1, 0});
  for (int fmod : {0, 1}) {
    auto out = OpCase("Mod", 13).int_attr("fmod", fmod).input(DType::kInt32, {4}).input(DType::kInt32, {4}).run({a, b});
    ASSERT_EQ(out.size(), 1u);
    const std::vector<int32_t> want = fmod ? std::vector<int32_t>{1, -1, 0, 0} : std::vector<int32_t>{-2, 2, 0, 0};
    EXPECT_EQ(std::vector<int32_t>(out[0].values<int32_t>().begin(), out[0].values<int32_t>().end()), want)
        << "fmod " << fmod;
  }
  EXPECT_THAT(OpCase("Mod", 13).input(DType::kFloat32, {4}).input(DType::kFloat32, {4}).error(),
              ::testing::HasSubstr("node 'n' (Mod): floating-point Mod needs fmod=1"));
}

}  // namespace
}  // namespace qs::ops
