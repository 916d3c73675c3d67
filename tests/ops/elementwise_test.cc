// Element-wise and activation ops: prepare's validation (errors name the node and say what
// is wrong), planned output types and shapes, and opset-dependent behaviour.
#include <gtest/gtest.h>

#include <limits>

#include "ops/op.h"

namespace qs::ops {
namespace {


TensorInfo info(DType t, Shape s, const Tensor* value = nullptr) { return TensorInfo{t, std::move(s), value}; }

// A node of op_type with one input name per info (absent infos get ""), prepared at opset.
struct Prepared {
  ir::Node node;
  std::unique_ptr<PrepareContext> ctx;
  Expected<std::unique_ptr<Kernel>> kernel = Status::Ok();

  const std::string& message() const { return kernel.status().message(); }
  ErrorKind kind() const { return kernel.status().kind(); }
};

std::unique_ptr<Prepared> prepare(const std::string& op_type, std::vector<TensorInfo> inputs, int64_t opset = 17,
                                  std::map<std::string, ir::Attribute> attrs = {}, size_t num_outputs = 1) {
  auto p = std::make_unique<Prepared>();
  p->node.name = "n1";
  p->node.op_type = op_type;
  p->node.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) p->node.inputs.push_back(inputs[i].present() ? "in" + std::to_string(i) : "");
  for (size_t i = 0; i < num_outputs; ++i) p->node.outputs.push_back("out" + std::to_string(i));
  p->ctx = std::make_unique<PrepareContext>(PrepareContext{p->node, opset, std::move(inputs), {}, {}});
  p->ctx->outputs.resize(num_outputs);
  const OpSchema* schema = find_op(op_type);
  if (!schema) {
    p->kernel = InternalError("no op {}", op_type);
    return p;
  }
  p->kernel = schema->prepare(*p->ctx);
  return p;
}

void expect_error(const Prepared& p, ErrorKind kind, const std::string& fragment) {
  ASSERT_FALSE(p.kernel.ok()) << "expected an error containing: " << fragment;
  EXPECT_EQ(p.kind(), kind) << p.message();
  EXPECT_NE(p.message().find("node 'n1' (" + p.node.op_type + ")"), std::string::npos) << p.message();
  EXPECT_NE(p.message().find(fragment), std::string::npos) << p.message();
}

TEST(ElementwisePrepare, AllOpsRegistered) {
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Sqrt", "Exp", "Log", "Erf",
                         "Abs", "Neg", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Sin", "Cos", "Equal", "Less",
                         "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Where", "Cast", "Identity",
                         "Dropout", "Relu", "LeakyRelu", "PRelu", "Clip", "Sigmoid", "HardSigmoid", "HardSwish",
                         "Tanh", "Elu", "Selu", "Softplus", "Softsign", "Gelu", "Mish", "Celu", "ThresholdedRelu",
                         "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "IsNaN",
                         "IsInf", "Shrink"})
    EXPECT_NE(find_op(op), nullptr) << op;
}

TEST(ElementwisePrepare, BinaryBroadcastsAndPlansShape) {
  auto p = prepare("Add", {info(DType::kFloat32, {2, 3, 4, 5}), info(DType::kFloat32, {3, 1, 1})});
  ASSERT_TRUE(p->kernel.ok()) << p->message();
  EXPECT_EQ(p->ctx->outputs[0].dtype, DType::kFloat32);
  EXPECT_EQ(p->ctx->outputs[0].shape, (Shape{2, 3, 4, 5}));
}

TEST(ElementwisePrepare, BinaryErrors) {
  expect_error(*prepare("Add", {info(DType::kFloat32, {2, 3}), info(DType::kFloat32, {4})}), ErrorKind::kInvalidInput,
               "shapes [2,3] and [4] cannot be broadcast together");
  expect_error(*prepare("Mul", {info(DType::kFloat32, {2}), info(DType::kInt64, {2})}), ErrorKind::kInvalidInput,
               "input 1 has element type int64 but input 0 has float32");
  expect_error(*prepare("Sub", {info(DType::kBool, {2}), info(DType::kBool, {2})}), ErrorKind::kUnsupported,
               "element type bool");
  expect_error(*prepare("Div", {info(DType::kFloat32, {2})}), ErrorKind::kInvalidInput, "has 1 inputs, expected 2");
}

TEST(ElementwisePrepare, VariadicOps) {
  auto p = prepare("Max", {info(DType::kInt16, {3, 1}), info(DType::kInt16, {4}), info(DType::kInt16, {})});
  ASSERT_TRUE(p->kernel.ok()) << p->message();
  EXPECT_EQ(p->ctx->outputs[0].shape, (Shape{3, 4}));
  expect_error(*prepare("Sum", {info(DType::kFloat32, {2}), info(DType::kFloat32, {3})}), ErrorKind::kInvalidInput,
               "cannot be broadcast");
  expect_error(*prepare("Mean", {info(DType::kInt32, {2})}), ErrorKind::kUnsupported, "element type int32");
  expect_error(*prepare("Min", {info(DType::kFloat32, {2}), TensorInfo{}, info(DType::kFloat32, {2})}),
               ErrorKind::kInvalidInput, "input 1 is missing");
}

TEST(ElementwisePrepare, PowOutputHasBaseType) {
  auto p = prepare("Pow", {info(DType::kInt64, {3}), info(DType::kFloat32, {1})});
  ASSERT_TRUE(p->kernel.ok()) << p->message();
  EXPECT_EQ(p->ctx->outputs[0].dtype, DType::kInt64);
  expect_error(*prepare("Pow", {info(DType::kUInt8, {3}), info(DType::kFloat32, {1})}), ErrorKind::kUnsupported,
               "element type uint8");
}

TEST(ElementwisePrepare, PowSquareFastPathMatchesGeneral) {
  const Tensor two = Tensor::Scalar<float>(2.f);
  auto fast = prepare("Pow", {info(DType::kFloat32, {4}), info(DType::kFloat32, {}, &two)});
  auto slow = prepare("Pow", {info(DType::kFloat32, {4}), info(DType::kFloat32, {})});
  ASSERT_TRUE(fast->kernel.ok() && slow->kernel.ok());
  const std::vector<float> xv = {-3.f, 0.5f, 1e20f, -0.f};
  const Tensor x = Tensor::FromVector<float>({4}, xv);
  Tensor y1(DType::kFloat32, {4}), y2(DType::kFloat32, {4});
  const Tensor* in[] = {&x, &two};
  Tensor* o1[] = {&y1};
  Tensor* o2[] = {&y2};
  (*fast->kernel)->run(in, o1);
  (*slow->kernel)->run(in, o2);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y1.data<float>()[i], y2.data<float>()[i]);
  EXPECT_EQ(y1.data<float>()[0], 9.f);
}

TEST(ElementwisePrepare, ComparisonsAndWhere) {
  auto p = prepare("Less", {info(DType::kInt64, {2, 1}), info(DType::kInt64, {3})});
  ASSERT_TRUE(p->kernel.ok()) << p->message();
  EXPECT_EQ(p->ctx->outputs[0].dtype, DType::kBool);
  EXPECT_EQ(p->ctx->outputs[0].shape, (Shape{2, 3}));
  expect_error(*prepare("Greater", {info(DType::kBool, {2}), info(DType::kBool, {2})}), ErrorKind::kUnsupported,
               "element type bool");
  expect_error(*prepare("And", {info(DType::kBool, {2}), info(DType::kFloat32, {2})}), ErrorKind::kUnsupported,
               "input 1 ('in1') has element type float32");
  auto w = prepare("Where", {info(DType::kBool, {2, 1}), info(DType::kFloat32, {3}), info(DType::kFloat32, {})});
  ASSERT_TRUE(w->kernel.ok()) << w->message();
  EXPECT_EQ(w->ctx->outputs[0].shape, (Shape{2, 3}));
  expect_error(*prepare("Where", {info(DType::kFloat32, {2}), info(DType::kFloat32, {2}), info(DType::kFloat32, {2})}),
               ErrorKind::kUnsupported, "input 0 ('in0') has element type float32");
  expect_error(*prepare("Where", {info(DType::kBool, {2}), info(DType::kFloat32, {2}), info(DType::kInt64, {2})}),
               ErrorKind::kInvalidInput, "input 2 has element type int64 but input 1 has float32");
}

TEST(ElementwisePrepare, CastErrors) {
  auto ok = prepare("Cast", {info(DType::kFloat32, {2})}, 13, {{"to", ir::Attribute::Int(10)}});
  ASSERT_TRUE(ok->kernel.ok()) << ok->message();
  EXPECT_EQ(ok->ctx->outputs[0].dtype, DType::kFloat16);
  expect_error(*prepare("Cast", {info(DType::kFloat32, {2})}, 13), ErrorKind::kInvalidInput,
               "required attribute 'to' is missing");
  expect_error(*prepare("Cast", {info(DType::kFloat32, {2})}, 13, {{"to", ir::Attribute::Int(8)}}), ErrorKind::kUnsupported,
               "cannot cast to ONNX element type 8");
  expect_error(*prepare("Cast", {info(DType::kFloat32, {2})}, 13, {{"to", ir::Attribute::Int(-3)}}), ErrorKind::kUnsupported,
               "cannot cast to ONNX element type -3");
  expect_error(*prepare("Cast", {info(DType::kFloat32, {2})}, 13, {{"to", ir::Attribute::Int(12)}}), ErrorKind::kUnsupported,
               "cannot cast to element type uint32");
  expect_error(*prepare("Cast", {info(DType::kUInt64, {2})}, 13, {{"to", ir::Attribute::Int(1)}}), ErrorKind::kUnsupported,
               "cannot cast from element type uint64");
}

TEST(ElementwisePrepare, DropoutIsIdentityWithOptionalMask) {
  auto p = prepare("Dropout", {info(DType::kFloat32, {3})}, 13, {}, 2);
  ASSERT_TRUE(p->kernel.ok()) << p->message();
  EXPECT_EQ(p->ctx->outputs[1].dtype, DType::kBool);
  auto old = prepare("Dropout", {info(DType::kFloat32, {3})}, 7, {{"ratio", ir::Attribute::Float(0.3f)}}, 2);
  ASSERT_TRUE(old->kernel.ok()) << old->message();
  EXPECT_EQ(old->ctx->outputs[1].dtype, DType::kFloat32);  // before opset 10 the mask had the input's type

  const Tensor x = Tensor::FromVector<float>({3}, std::vector<float>{1.f, -2.f, 3.f});
  Tensor y(DType::kFloat32, {3}), mask(DType::kBool, {3});
  const Tensor* in[] = {&x};
  Tensor* out[] = {&y, &mask};
  (*p->kernel)->run(in, out);
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 3), (std::vector<float>{1.f, -2.f, 3.f}));
  EXPECT_TRUE(mask.data<bool>()[0] && mask.data<bool>()[1] && mask.data<bool>()[2]);

  const Tensor yes = Tensor::Scalar<bool>(true);
  expect_error(*prepare("Dropout", {info(DType::kFloat32, {3}), TensorInfo{}, info(DType::kBool, {}, &yes)}, 13),
               ErrorKind::kUnsupported, "training mode is not supported");
  expect_error(*prepare("Dropout", {info(DType::kFloat32, {3}), TensorInfo{}, info(DType::kBool, {})}, 13),
               ErrorKind::kUnsupported, "training_mode");
}

TEST(ActivationPrepare, AttributeErrors) {
  expect_error(*prepare("Celu", {info(DType::kFloat32, {2})}, 12, {{"alpha", ir::Attribute::Float(0.f)}}),
               ErrorKind::kInvalidInput, "attribute 'alpha' must not be 0");
  expect_error(*prepare("Gelu", {info(DType::kFloat32, {2})}, 20, {{"approximate", ir::Attribute::String("erf")}}),
               ErrorKind::kInvalidInput, "'approximate' must be 'none' or 'tanh', got 'erf'");
  expect_error(*prepare("LeakyRelu", {info(DType::kFloat32, {2})}, 16,
                        {{"alpha", ir::Attribute::Float(std::numeric_limits<float>::infinity())}}),
               ErrorKind::kInvalidInput, "attribute 'alpha' must be finite");
  expect_error(*prepare("Elu", {info(DType::kFloat32, {2})}, 6, {{"alpha", ir::Attribute::Int(1)}}), ErrorKind::kInvalidInput,
               "attribute 'alpha' is int, expected float");
  expect_error(*prepare("Sigmoid", {info(DType::kInt32, {2})}), ErrorKind::kUnsupported, "element type int32");
}

TEST(ActivationPrepare, PReluSlopeMustBroadcastOntoInput) {
  auto ok = prepare("PRelu", {info(DType::kFloat32, {1, 3, 4, 4}), info(DType::kFloat32, {3, 1, 1})}, 16);
  ASSERT_TRUE(ok->kernel.ok()) << ok->message();
  EXPECT_EQ(ok->ctx->outputs[0].shape, (Shape{1, 3, 4, 4}));
  expect_error(*prepare("PRelu", {info(DType::kFloat32, {3}), info(DType::kFloat32, {2, 3})}, 16),
               ErrorKind::kInvalidInput, "slope of shape [2,3] does not broadcast onto the input's shape [3]");
  expect_error(*prepare("PRelu", {info(DType::kFloat32, {1, 3, 4, 4}), info(DType::kFloat32, {3})}, 16),
               ErrorKind::kInvalidInput, "cannot be broadcast");
}

TEST(ActivationPrepare, ClipBoundsByOpset) {
  const Tensor lo = Tensor::Scalar<float>(0.f), hi = Tensor::Scalar<float>(6.f);
  auto relu6 = prepare("Clip", {info(DType::kFloat32, {3}), info(DType::kFloat32, {}, &lo), info(DType::kFloat32, {}, &hi)}, 13);
  ASSERT_TRUE(relu6->kernel.ok()) << relu6->message();
  const Tensor x = Tensor::FromVector<float>({3}, std::vector<float>{-1.f, 3.f, 7.f});
  Tensor y(DType::kFloat32, {3});
  const Tensor* in[] = {&x, &lo, &hi};
  Tensor* out[] = {&y};
  (*relu6->kernel)->run(in, out);
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 3), (std::vector<float>{0.f, 3.f, 6.f}));

  auto old = prepare("Clip", {info(DType::kFloat32, {3})}, 6, {{"min", ir::Attribute::Float(-0.5f)}, {"max", ir::Attribute::Float(0.5f)}});
  ASSERT_TRUE(old->kernel.ok()) << old->message();
  (*old->kernel)->run(in, out);
  EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 3), (std::vector<float>{-0.5f, 0.5f, 0.5f}));

  expect_error(*prepare("Clip", {info(DType::kFloat32, {3}), info(DType::kFloat32, {})}, 13), ErrorKind::kUnsupported,
               "input 1 (min, 'in1') must be a constant");
  const Tensor vec = Tensor::FromVector<float>({2}, std::vector<float>{0.f, 1.f});
  expect_error(*prepare("Clip", {info(DType::kFloat32, {3}), info(DType::kFloat32, {2}, &vec)}, 13),
               ErrorKind::kInvalidInput, "input 1 (min) must be a scalar, got shape [2]");
  const Tensor dmax = Tensor::Scalar<double>(1.0);
  expect_error(*prepare("Clip", {info(DType::kFloat32, {3}), TensorInfo{}, info(DType::kFloat64, {}, &dmax)}, 13),
               ErrorKind::kInvalidInput, "input 2 (max) has element type float64 but the input has float32");
  expect_error(*prepare("Clip", {info(DType::kFloat32, {3}), info(DType::kFloat32, {}, &lo)}, 6),
               ErrorKind::kInvalidInput, "has 2 inputs, expected 1");
}

}  // namespace
}  // namespace qs::ops
