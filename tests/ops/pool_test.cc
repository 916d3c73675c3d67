// Pool ops' prepare: attribute validation (errors name the node and say what is wrong),
// output shapes, and the auto_pad split run through the planned kernel.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ops/op.h"

namespace qs::ops {
namespace {


struct Prepared {
  Status status;
  std::vector<TensorInfo> outputs;
  std::unique_ptr<Kernel> kernel;
};

Prepared prepare(const std::string& op, std::map<std::string, ir::Attribute> attrs, Shape x_shape,
                 DType dtype = DType::kFloat32, size_t num_outputs = 1) {
  ir::Node node;
  node.name = "pool1";
  node.op_type = op;
  node.inputs = {"x"};
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back("y" + std::to_string(i));
  node.attrs = std::move(attrs);
  PrepareContext ctx{node, 13, {TensorInfo{dtype, std::move(x_shape), nullptr}}, {}, {}};
  ctx.outputs.resize(num_outputs);
  const OpSchema* schema = find_op(op);
  EXPECT_NE(schema, nullptr) << op;
  Prepared r;
  auto k = schema->prepare(ctx);
  r.status = k.status();
  r.outputs = ctx.outputs;
  if (k.ok()) r.kernel = std::move(k).value();
  return r;
}

void expect_error(const Prepared& p, ErrorKind kind, const std::string& part) {
  ASSERT_FALSE(p.status.ok()) << "expected an error containing: " << part;
  EXPECT_EQ(p.status.kind(), kind) << p.status.message();
  EXPECT_NE(p.status.message().find("node 'pool1'"), std::string::npos) << p.status.message();
  EXPECT_NE(p.status.message().find(part), std::string::npos) << p.status.message();
}

TEST(PoolPrepare, RejectsBadAttributes) {
  const Shape x{1, 3, 8, 8};
  expect_error(prepare("MaxPool", {}, x), ErrorKind::kInvalidInput, "required attribute 'kernel_shape' is missing");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({})}}, x), ErrorKind::kInvalidInput,
               "'kernel_shape' is empty");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 0})}}, x), ErrorKind::kInvalidInput,
               "'kernel_shape' value 1 is 0");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"strides", ir::Attribute::Ints({1})}}, x),
               ErrorKind::kInvalidInput, "'strides' has 1 values, expected 2");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"strides", ir::Attribute::Ints({1, 0})}}, x),
               ErrorKind::kInvalidInput, "'strides' value 1 is 0, expected >= 1");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"dilations", ir::Attribute::Ints({-1, 1})}}, x),
               ErrorKind::kInvalidInput, "'dilations' value 0 is -1");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({3, 3})}, {"pads", ir::Attribute::Ints({0, -1, 0, 0})}}, x),
               ErrorKind::kInvalidInput, "negative");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({3, 3})}, {"pads", ir::Attribute::Ints({3, 0, 0, 0})}}, x),
               ErrorKind::kInvalidInput, "must be smaller than the kernel extent 3");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({3, 3})}, {"pads", ir::Attribute::Ints({0, 0, 0})}}, x),
               ErrorKind::kInvalidInput, "'pads' has 3 values, expected 4");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"auto_pad", ir::Attribute::String("SAME")}}, x),
               ErrorKind::kInvalidInput, "'auto_pad' is 'SAME'");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"ceil_mode", ir::Attribute::Int(2)}}, x),
               ErrorKind::kInvalidInput, "'ceil_mode' is 2");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"storage_order", ir::Attribute::Int(3)}}, x),
               ErrorKind::kInvalidInput, "'storage_order' is 3");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"strides", ir::Attribute::String("1")}}, x),
               ErrorKind::kInvalidInput, "attribute 'strides' is string, expected ints");
  expect_error(prepare("AveragePool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"count_include_pad", ir::Attribute::Int(-1)}}, x),
               ErrorKind::kInvalidInput, "'count_include_pad' is -1");
  expect_error(prepare("LpPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}, {"p", ir::Attribute::Int(0)}}, x), ErrorKind::kInvalidInput,
               "'p' is 0");
}

TEST(PoolPrepare, RejectsInputsThatDoNotFit) {
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}}, {1, 3, 8}), ErrorKind::kInvalidInput,
               "expected rank 4");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({5, 5})}}, {1, 3, 4, 8}), ErrorKind::kInvalidInput,
               "is smaller than the kernel extent 5");
  // Dilation widens the window: 2 taps 4 apart need 5 inputs.
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2})}, {"dilations", ir::Attribute::Ints({4})}}, {1, 1, 4}),
               ErrorKind::kInvalidInput, "kernel extent 5");
  expect_error(prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2, 2, 2})}}, {1, 1, 4, 4, 4, 4}),
               ErrorKind::kUnsupported, "4-D pooling is not supported");
  expect_error(prepare("AveragePool", {{"kernel_shape", ir::Attribute::Ints({2, 2})}}, {1, 3, 8, 8}, DType::kInt32),
               ErrorKind::kUnsupported, "element type int32");
  expect_error(prepare("GlobalAveragePool", {}, {4, 3}), ErrorKind::kInvalidInput, "expected rank >= 3");
  expect_error(prepare("GlobalMaxPool", {}, {1, 3, 0, 5}), ErrorKind::kInvalidInput, "no spatial element");
}

TEST(PoolPrepare, OutputShapes) {
  auto p = prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({3, 3})}, {"strides", ir::Attribute::Ints({2, 2})}, {"ceil_mode", ir::Attribute::Int(1)}},
                   {2, 3, 6, 7});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.outputs[0].shape, (Shape{2, 3, 3, 3}));
  p = prepare("AveragePool",
              {{"kernel_shape", ir::Attribute::Ints({3, 3})}, {"strides", ir::Attribute::Ints({2, 2})}, {"auto_pad", ir::Attribute::String("SAME_LOWER")}},
              {1, 2, 7, 8});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.outputs[0].shape, (Shape{1, 2, 4, 4}));
  p = prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({3})}, {"auto_pad", ir::Attribute::String("VALID")}, {"pads", ir::Attribute::Ints({9, 9})}}, {1, 1, 5});
  ASSERT_TRUE(p.status.ok()) << p.status.message();  // pads are ignored with auto_pad
  EXPECT_EQ(p.outputs[0].shape, (Shape{1, 1, 3}));
  p = prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2, 2, 2})}}, {1, 1, 3, 3, 3}, DType::kUInt8, 2);
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.outputs[0].dtype, DType::kUInt8);
  EXPECT_EQ(p.outputs[1].dtype, DType::kInt64);
  EXPECT_EQ(p.outputs[1].shape, (Shape{1, 1, 2, 2, 2}));
  p = prepare("GlobalAveragePool", {}, {2, 5, 3, 4, 6});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.outputs[0].shape, (Shape{2, 5, 1, 1, 1}));
}

std::vector<float> run_1d(const Prepared& p, std::vector<float> x) {
  Tensor in = Tensor::FromVector<float>({1, 1, static_cast<int64_t>(x.size())}, x);
  Tensor out(p.outputs[0].dtype, p.outputs[0].shape);
  const Tensor* ins[] = {&in};
  Tensor* outs[] = {&out};
  p.kernel->run(ins, outs);
  return {out.data<float>(), out.data<float>() + out.numel()};
}

TEST(PoolPrepare, SameUpperPadsAtTheEndSameLowerAtTheStart) {
  const std::vector<float> x{1, 2, 3, 4};
  auto upper = prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2})}, {"auto_pad", ir::Attribute::String("SAME_UPPER")}}, {1, 1, 4});
  ASSERT_TRUE(upper.status.ok()) << upper.status.message();
  EXPECT_EQ(run_1d(upper, x), (std::vector<float>{2, 3, 4, 4}));
  auto lower = prepare("MaxPool", {{"kernel_shape", ir::Attribute::Ints({2})}, {"auto_pad", ir::Attribute::String("SAME_LOWER")}}, {1, 1, 4});
  ASSERT_TRUE(lower.status.ok()) << lower.status.message();
  EXPECT_EQ(run_1d(lower, x), (std::vector<float>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace qs::ops
