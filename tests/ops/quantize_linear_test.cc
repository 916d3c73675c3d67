// QuantizeLinear / DequantizeLinear as ONNX defines them: round half to even, saturation,
// int8 and uint8 zero points, per tensor and per axis (opset 13), and the errors.
#include <gtest/gtest.h>

#include "kernels/reference/int8.h"
#include "kernels/reference/quantize_linear.h"
#include "runtime/plan.h"

namespace qs {
namespace {

// One node graph: y = OP(x, scale, zero_point) with `axis`.
Expected<Tensor> run_op(const std::string& op, const Tensor& x, const Tensor& scale, const Tensor* zp,
                        std::optional<int64_t> axis = std::nullopt, int64_t opset = 13) {
  auto g = std::make_shared<ir::Graph>();
  g->opset = opset;
  g->inputs.push_back({"x", x.dtype(), true, x.shape(), {}});
  g->outputs.push_back({"y", DType::kUndefined, false, {}, {}});
  g->initializers["s"] = scale;
  ir::Node n;
  n.name = "qnode";
  n.op_type = op;
  n.inputs = {"x", "s"};
  if (zp) {
    g->initializers["z"] = *zp;
    n.inputs.push_back("z");
  }
  n.outputs = {"y"};
  if (axis) n.attrs["axis"] = ir::Attribute::Int(*axis);
  g->nodes.push_back(n);
  runtime::Engine e(g);
  QS_ASSIGN_OR_RETURN(auto out, e.Run({{"x", x}}));
  return out.at("y");
}

TEST(QuantizeLinear, RoundsHalfToEvenAndSaturatesInt8) {
  const Tensor x = Tensor::FromVector<float>({8}, std::vector<float>{0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 1000.f, -1000.f, 0.74f});
  const Tensor zp = Tensor::Scalar<int8_t>(0);
  auto y = run_op("QuantizeLinear", x, Tensor::Scalar<float>(1.f), &zp);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(y->dtype(), DType::kInt8);
  EXPECT_EQ(std::vector<int8_t>(y->data<int8_t>(), y->data<int8_t>() + 8),
            (std::vector<int8_t>{0, 2, 2, 0, -2, 127, -128, 1}));
}

TEST(QuantizeLinear, Uint8DefaultAndZeroPoint) {
  const Tensor x = Tensor::FromVector<float>({4}, std::vector<float>{-1.f, 0.f, 2.f, 300.f});
  auto y = run_op("QuantizeLinear", x, Tensor::Scalar<float>(1.f), nullptr);  // no zero point: uint8, 0
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(y->dtype(), DType::kUInt8);
  EXPECT_EQ(std::vector<uint8_t>(y->data<uint8_t>(), y->data<uint8_t>() + 4), (std::vector<uint8_t>{0, 0, 2, 255}));
  const Tensor zp = Tensor::Scalar<uint8_t>(128);
  y = run_op("QuantizeLinear", x, Tensor::Scalar<float>(2.f), &zp);
  ASSERT_TRUE(y.ok());
  EXPECT_EQ(std::vector<uint8_t>(y->data<uint8_t>(), y->data<uint8_t>() + 4), (std::vector<uint8_t>{128, 128, 129, 255}));
  auto d = run_op("DequantizeLinear", *y, Tensor::Scalar<float>(2.f), &zp);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::vector<float>(d->data<float>(), d->data<float>() + 4), (std::vector<float>{0.f, 0.f, 2.f, 254.f}));
}

TEST(QuantizeLinear, PerAxis) {
  // x [2, 3] quantized along axis 1 (scales 1, 2, 4) and along axis 0 (scales 1, 10).
  const Tensor x = Tensor::FromVector<float>({2, 3}, std::vector<float>{4.f, 4.f, 4.f, 40.f, 40.f, 40.f});
  const Tensor z3 = Tensor::FromVector<int8_t>({3}, std::vector<int8_t>{0, 0, 1});
  auto y = run_op("QuantizeLinear", x, Tensor::FromVector<float>({3}, std::vector<float>{1.f, 2.f, 4.f}), &z3, 1);
  ASSERT_TRUE(y.ok()) << y.status().message();
  EXPECT_EQ(std::vector<int8_t>(y->data<int8_t>(), y->data<int8_t>() + 6), (std::vector<int8_t>{4, 2, 2, 40, 20, 11}));
  const Tensor z2 = Tensor::FromVector<int8_t>({2}, std::vector<int8_t>{0, 0});
  auto d = run_op("DequantizeLinear", *y, Tensor::FromVector<float>({2}, std::vector<float>{1.f, 10.f}), &z2, 0);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(std::vector<float>(d->data<float>(), d->data<float>() + 6),
            (std::vector<float>{4.f, 2.f, 2.f, 400.f, 200.f, 110.f}));
  // Default axis is 1; negative axes count from the end.
  auto n = run_op("QuantizeLinear", x, Tensor::FromVector<float>({3}, std::vector<float>{1.f, 2.f, 4.f}), &z3, -1);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::vector<int8_t>(n->data<int8_t>(), n->data<int8_t>() + 6), (std::vector<int8_t>{4, 2, 2, 40, 20, 11}));
}

TEST(QuantizeLinear, Int32Dequantize) {
  const Tensor x = Tensor::FromVector<int32_t>({3}, std::vector<int32_t>{-100000, 0, 7});
  auto d = run_op("DequantizeLinear", x, Tensor::Scalar<float>(0.5f), nullptr);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(std::vector<float>(d->data<float>(), d->data<float>() + 3), (std::vector<float>{-50000.f, 0.f, 3.5f}));
}

TEST(QuantizeLinear, SameBitsAsTheEnginesFakeQuantization) {
  std::vector<float> v;
  for (int i = -3000; i <= 3000; ++i) v.push_back(static_cast<float>(i) * 0.0137f);
  const int64_t n = static_cast<int64_t>(v.size());
  std::vector<int8_t> q(v.size()), zp{0};
  std::vector<float> y(v.size()), fq(v.size());
  const float s = 0.173f;
  kernels::ref::QuantLayout l{n, 1, 1};
  l.outer = 1;
  l.inner = n;
  kernels::ref::quantize_linear_s8(l, v.data(), &s, zp.data(), q.data());
  kernels::ref::dequantize_linear_s8(l, q.data(), &s, zp.data(), y.data());
  kernels::ref::fake_quantize_f32(v.data(), fq.data(), n, s);
  EXPECT_EQ(y, fq);
}

TEST(QuantizeLinear, ErrorsNameTheNode) {
  const Tensor x = Tensor::FromVector<float>({2, 3}, std::vector<float>(6, 1.f));
  const Tensor z2 = Tensor::FromVector<int8_t>({2}, std::vector<int8_t>{0, 0});
  auto r = run_op("QuantizeLinear", x, Tensor::FromVector<float>({2}, std::vector<float>{1.f, 1.f}), &z2, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("node 'qnode' (QuantizeLinear)"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("scale has 2 values, axis 1"), std::string::npos) << r.status().message();
  r = run_op("QuantizeLinear", x, Tensor::FromVector<float>({2}, std::vector<float>{1.f, 1.f}), &z2, 0, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("before opset 13"), std::string::npos) << r.status().message();
  const Tensor z16 = Tensor::Scalar<int16_t>(0);
  r = run_op("QuantizeLinear", x, Tensor::Scalar<float>(1.f), &z16);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("int16"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace qs
