// The INT8 wrapper of kernels without integer code (runtime/precision_kernels.h): a max pool
// whose input is known to hold no NaN quantizes its output instead of its input, and must
// give the same bits as quantizing the input first.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "ops/op_case.h"
#include "runtime/precision_kernels.h"

namespace qs::runtime {
namespace {

// x of `shape`: values spread over twice the scale's range (so that some saturate), many of
// them on and next to the rounding boundaries (k + 0.5) * scale, and exact zeros.
Tensor values_for(const Shape& shape, float scale, uint32_t seed) {
  Tensor t(DType::kFloat32, shape);
  uint32_t r = seed;
  for (int64_t i = 0; i < t.numel(); ++i) {
    r = r * 1664525u + 1013904223u;
    const int64_t k = static_cast<int64_t>(r >> 8) % 512 - 256;
    float v = (static_cast<float>(k) + 0.5f) * scale;
    switch ((r >> 3) % 4) {
      case 0: v = std::nextafter(v, 0.f); break;
      case 1: v = std::nextafter(v, 1e9f); break;
      case 2: v = static_cast<float>(k) * scale * 0.37f; break;
      default: break;
    }
    if (r % 29 == 0) v = 0.f;
    t.data<float>()[i] = v;
  }
  return t;
}

std::vector<Tensor> run_wrapped(ops::OpCase& c, const Tensor& x, float scale, bool max_of_input) {
  auto inner = c.prepare();
  EXPECT_TRUE(inner.ok()) << inner.status().message();
  if (!inner.ok()) return {};
  auto k = make_fake_quant_kernel(std::move(inner).value(), {scale}, max_of_input);
  Tensor y(DType::kFloat32, c.ctx().outputs[0].shape);
  const Tensor* in[] = {&x};
  Tensor* out[] = {&y};
  k->run(in, out);
  return {y};
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

struct PoolCase {
  std::string what;
  std::function<ops::OpCase()> make;
  Shape x;
};

TEST(FakeQuantKernel, MaxPoolQuantizedAfterGivesTheSameBits) {
  const float scale = 0.0375f;
  const std::vector<PoolCase> cases = {
      {"2-D 3x3 stride 2 pads 1", [] {
         ops::OpCase c("MaxPool", 13);
         c.ints("kernel_shape", {3, 3}).ints("strides", {2, 2}).ints("pads", {1, 1, 1, 1});
         return c;
       }, {2, 5, 13, 11}},
      {"2-D 2x2 ceil_mode", [] {
         ops::OpCase c("MaxPool", 13);
         c.ints("kernel_shape", {2, 2}).ints("strides", {2, 2}).int_attr("ceil_mode", 1);
         return c;
       }, {1, 3, 9, 7}},
      {"1-D 4 stride 4", [] {
         ops::OpCase c("MaxPool", 13);
         c.ints("kernel_shape", {4}).ints("strides", {4});
         return c;
       }, {2, 6, 50}},
      {"1-D dilated, same_upper", [] {
         ops::OpCase c("MaxPool", 13);
         c.ints("kernel_shape", {3}).ints("dilations", {2}).str("auto_pad", "SAME_UPPER");
         return c;
       }, {1, 4, 23}},
      {"global", [] { return ops::OpCase("GlobalMaxPool", 13); }, {2, 7, 5, 6}},
  };
  uint32_t seed = 1;
  for (const PoolCase& pc : cases) {
    ops::OpCase c = pc.make();
    c.input(DType::kFloat32, pc.x);
    Tensor x = values_for(pc.x, scale, seed++);
    const std::vector<Tensor> before = run_wrapped(c, x, scale, false);  // quantize the input
    x.set_known_finite(true);
    const std::vector<Tensor> after = run_wrapped(c, x, scale, true);  // quantize the output
    ASSERT_EQ(before.size(), 1u) << pc.what;
    ASSERT_EQ(after.size(), 1u) << pc.what;
    EXPECT_TRUE(same_bits(before[0], after[0])) << pc.what;
    // Only the second quantized its output (and so knows it finite).
    EXPECT_FALSE(before[0].known_finite()) << pc.what;
    EXPECT_TRUE(after[0].known_finite()) << pc.what;
  }
}

// An input that may hold NaN (not known finite) is quantized first: NaN becomes 0 there, so the
// window's other values win, which quantizing the pooled NaN would not give.
TEST(FakeQuantKernel, InputWithNanIsQuantizedFirst) {
  const float scale = 0.5f;
  ops::OpCase c("MaxPool", 13);
  c.ints("kernel_shape", {2}).ints("strides", {2});
  c.input(DType::kFloat32, {1, 1, 4});
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = Tensor::FromVector<float>({1, 1, 4}, std::vector<float>{nan, 1.1f, -3.f, nan});
  const std::vector<Tensor> y = run_wrapped(c, x, scale, true);
  ASSERT_EQ(y.size(), 1u);
  // qdq(NaN) = 0: max(0, qdq(1.1) = 1.0) = 1.0; max(qdq(-3) = -3, 0) = 0.
  EXPECT_EQ(y[0].data<float>()[0], 1.0f);
  EXPECT_EQ(y[0].data<float>()[1], 0.0f);
}

}  // namespace
}  // namespace qs::runtime
