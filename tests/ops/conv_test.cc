// Conv / ConvTranspose / Gemm / MatMul op definitions: prepare rejects bad nodes with a
// message that names the node and the problem, plans the right output shapes, and picks the
// kernel the options ask for; end to end, the oneDNN and reference paths agree on ONNX's
// own node tests.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "onnx/import.h"
#include "ops/op.h"
#include "runtime/plan.h"

namespace qs::ops {
namespace {

ir::Attribute ints(std::vector<int64_t> v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInts;
  a.ints = std::move(v);
  return a;
}
ir::Attribute one_int(int64_t v) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kInt;
  a.i = v;
  return a;
}
ir::Attribute str(std::string s) {
  ir::Attribute a;
  a.kind = ir::Attribute::Kind::kString;
  a.s = std::move(s);
  return a;
}

ir::Node make_node(const std::string& op, size_t n_inputs, std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = "n1";
  n.op_type = op;
  for (size_t i = 0; i < n_inputs; ++i) n.inputs.push_back("in" + std::to_string(i));
  n.outputs = {"y"};
  n.attrs = std::move(attrs);
  return n;
}

TensorInfo f32(Shape s) { return TensorInfo{DType::kFloat32, std::move(s), nullptr}; }

struct Prepared {
  Status status;
  std::unique_ptr<Kernel> kernel;
  TensorInfo out;
};

Prepared prepare(const ir::Node& node, std::vector<TensorInfo> inputs, bool use_fast = true) {
  const OpSchema* schema = find_op(node.op_type);
  EXPECT_NE(schema, nullptr) << node.op_type;
  PrepareContext ctx{node, 17, std::move(inputs), std::vector<TensorInfo>(1), KernelOptions{use_fast}};
  auto r = schema->prepare(ctx);
  Prepared p;
  if (r.ok()) {
    p.kernel = std::move(r).value();
    p.out = ctx.outputs[0];
  } else {
    p.status = r.status();
  }
  return p;
}

// The error names the node and contains `part`.
void expect_error(const Prepared& p, ErrorKind kind, const std::string& part) {
  ASSERT_FALSE(p.status.ok()) << "expected an error containing: " << part;
  EXPECT_EQ(p.status.kind(), kind) << p.status.message();
  EXPECT_NE(p.status.message().find("node 'n1'"), std::string::npos) << p.status.message();
  EXPECT_NE(p.status.message().find(part), std::string::npos) << p.status.message();
}

// ---- Conv ----

TEST(ConvPrepare, RejectsBadAttributes) {
  const auto x = f32({1, 4, 8, 8});
  const auto w = f32({6, 2, 3, 3});
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"strides", ints({0, 1})}}), {x, w}),
               ErrorKind::kInvalidInput, "strides [0,1] must be positive");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"strides", ints({1, -2})}}), {x, w}),
               ErrorKind::kInvalidInput, "strides [1,-2] must be positive");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"dilations", ints({1, 0})}}), {x, w}),
               ErrorKind::kInvalidInput, "dilations [1,0] must be positive");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"pads", ints({0, 0, -1, 0})}}), {x, w}),
               ErrorKind::kInvalidInput, "pads [0,0,-1,0] must not be negative");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"pads", ints({1, 1})}}), {x, w}),
               ErrorKind::kInvalidInput, "pads has 2 values, expected 4");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"strides", ints({1})}}), {x, w}),
               ErrorKind::kInvalidInput, "strides has 1 values, expected 2");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(0)}}), {x, w}), ErrorKind::kInvalidInput,
               "group is 0, must be at least 1");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"auto_pad", str("SAME")}}), {x, w}),
               ErrorKind::kInvalidInput, "auto_pad 'SAME' is not one of");
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}, {"kernel_shape", ints({3, 5})}}), {x, w}),
               ErrorKind::kInvalidInput, "kernel_shape [3,5] does not match the spatial dims [3,3]");
}

TEST(ConvPrepare, RejectsBadShapes) {
  const auto x = f32({1, 4, 8, 8});
  // Channel count not divisible by group.
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(3)}}), {x, f32({6, 1, 3, 3})}),
               ErrorKind::kInvalidInput, "input channels 4 are not divisible by group 3");
  // W's input channels disagree with X.
  expect_error(prepare(make_node("Conv", 2), {x, f32({6, 3, 3, 3})}), ErrorKind::kInvalidInput,
               "expect 3 input channels");
  // Output channels not divisible by group.
  expect_error(prepare(make_node("Conv", 2, {{"group", one_int(2)}}), {x, f32({5, 2, 3, 3})}),
               ErrorKind::kInvalidInput, "output channels 5 (W[0]) are not divisible by group 2");
  // W rank mismatch.
  expect_error(prepare(make_node("Conv", 2), {x, f32({6, 4, 3})}), ErrorKind::kInvalidInput,
               "weights W have shape [6,4,3] (rank 3), expected rank 4");
  // Kernel larger than the padded input.
  expect_error(prepare(make_node("Conv", 2, {{"pads", ints({1, 0, 0, 0})}}), {f32({1, 4, 4, 4}), f32({2, 4, 6, 3})}),
               ErrorKind::kInvalidInput, "kernel extent 6 (kernel 6, dilation 1) is larger than the padded input 5");
  expect_error(prepare(make_node("Conv", 2, {{"dilations", ints({1, 4})}}), {f32({1, 4, 8, 8}), f32({2, 4, 3, 3})}),
               ErrorKind::kInvalidInput, "kernel extent 9 (kernel 3, dilation 4)");
  // Bias of the wrong length; inputs of the wrong rank or type.
  expect_error(prepare(make_node("Conv", 3), {x, f32({6, 4, 3, 3}), f32({4})}), ErrorKind::kInvalidInput,
               "bias B has shape [4], expected [6]");
  expect_error(prepare(make_node("Conv", 2), {f32({4, 8}), f32({6, 4})}), ErrorKind::kInvalidInput,
               "input X has shape [4,8]");
  expect_error(prepare(make_node("Conv", 2), {f32({1, 1, 2, 2, 2, 2}), f32({1, 1, 1, 1, 1, 1})}),
               ErrorKind::kUnsupported, "only 1-D to 3-D");
  expect_error(prepare(make_node("Conv", 2), {TensorInfo{DType::kFloat64, {1, 1, 3, 3}, nullptr}, f32({1, 1, 1, 1})}),
               ErrorKind::kUnsupported, "element type float64");
  expect_error(prepare(make_node("Conv", 1), {x}), ErrorKind::kInvalidInput, "has 1 inputs, expected 2 to 3");
}

TEST(ConvPrepare, OutputShapesAndAutoPad) {
  const auto x = f32({2, 3, 15, 16});
  const auto w = f32({8, 3, 3, 3});
  auto p = prepare(make_node("Conv", 2, {{"strides", ints({2, 2})}, {"auto_pad", str("SAME_UPPER")}}), {x, w});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.out.shape, (Shape{2, 8, 8, 8}));
  p = prepare(make_node("Conv", 2, {{"strides", ints({2, 2})}, {"auto_pad", str("VALID")}}), {x, w});
  EXPECT_EQ(p.out.shape, (Shape{2, 8, 7, 7}));
  p = prepare(make_node("Conv", 2, {{"pads", ints({1, 0, 2, 0})}, {"dilations", ints({2, 1})}}), {x, w});
  EXPECT_EQ(p.out.shape, (Shape{2, 8, 14, 14}));
  p = prepare(make_node("Conv", 2), {f32({1, 3, 10}), f32({4, 3, 3})});
  EXPECT_EQ(p.out.shape, (Shape{1, 4, 8}));
  p = prepare(make_node("Conv", 2), {f32({1, 3, 5, 6, 7}), f32({4, 3, 3, 3, 3})});
  EXPECT_EQ(p.out.shape, (Shape{1, 4, 3, 4, 5}));
}

// Runs a prepared kernel on random inputs.
Tensor run(Kernel& k, const std::vector<Tensor>& inputs, const TensorInfo& out) {
  std::vector<const Tensor*> in;
  for (const Tensor& t : inputs) in.push_back(&t);
  Tensor y(out.dtype, out.shape);
  Tensor* outs[] = {&y};
  k.run(in, outs);
  return y;
}

Tensor random_tensor(Shape s, uint32_t seed) {
  Tensor t(DType::kFloat32, std::move(s));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(gen);
  return t;
}

void expect_same_values(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.shape(), b.shape());
  for (int64_t i = 0; i < a.numel(); ++i)
    ASSERT_NEAR(a.data<float>()[i], b.data<float>()[i], 1e-4 * (1 + std::fabs(b.data<float>()[i]))) << i;
}

// The options pick the kernel; constant weights (reordered in prepare) and run-time weights
// give the reference's answer.
TEST(ConvPrepare, FastAndReferenceKernelsAgree) {
  for (const char* op : {"Conv", "ConvTranspose"}) {
    SCOPED_TRACE(op);
    const bool conv = std::string(op) == "Conv";
    const Tensor x = random_tensor({2, 8, 9, 10}, 1);
    const Tensor w = random_tensor(conv ? Shape{12, 4, 3, 3} : Shape{8, 6, 3, 3}, 2);
    const Tensor b = random_tensor({12}, 3);
    auto attrs = std::map<std::string, ir::Attribute>{
        {"group", one_int(2)}, {"strides", ints({2, 1})}, {"pads", ints({1, 0, 0, 1})}};
    if (!conv) attrs["output_padding"] = ints({1, 0});
    const ir::Node node = make_node(op, 3, attrs);
    auto ref = prepare(node, {f32(x.shape()), f32(w.shape()), f32(b.shape())}, false);
    ASSERT_TRUE(ref.status.ok()) << ref.status.message();
    EXPECT_EQ(ref.kernel->impl(), "reference");
    const Tensor want = run(*ref.kernel, {x, w, b}, ref.out);
    auto fast = prepare(node, {f32(x.shape()), f32(w.shape()), f32(b.shape())}, true);
    EXPECT_EQ(fast.kernel->impl(), "onednn");
    expect_same_values(run(*fast.kernel, {x, w, b}, fast.out), want);
    auto fast_const = prepare(node, {f32(x.shape()), TensorInfo{DType::kFloat32, w.shape(), &w},
                                     TensorInfo{DType::kFloat32, b.shape(), &b}});
    EXPECT_EQ(fast_const.kernel->impl(), "onednn");
    // Garbage in the run-time weight slots: the constants captured in prepare must be used.
    expect_same_values(run(*fast_const.kernel, {x, random_tensor(w.shape(), 9), random_tensor(b.shape(), 9)},
                           fast_const.out),
                       want);
  }
}

// ---- ConvTranspose ----

TEST(ConvTransposePrepare, RejectsBadNodes) {
  const auto x = f32({1, 4, 5, 5});
  const auto w = f32({4, 3, 3, 3});
  expect_error(prepare(make_node("ConvTranspose", 2), {x, f32({3, 3, 3, 3})}), ErrorKind::kInvalidInput,
               "weights W [3,3,3,3] expect 3 input channels (W[0]), but X [1,4,5,5] has 4");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"group", one_int(3)}}), {x, f32({4, 1, 3, 3})}),
               ErrorKind::kInvalidInput, "input channels 4 are not divisible by group 3");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"strides", ints({0, 1})}}), {x, w}), ErrorKind::kInvalidInput,
               "strides [0,1] must be positive");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"output_padding", ints({-1, 0})}}), {x, w}),
               ErrorKind::kInvalidInput, "output_padding [-1,0] must not be negative");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"output_padding", ints({1})}}), {x, w}),
               ErrorKind::kInvalidInput, "output_padding has 1 values, expected 2");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"output_shape", ints({9})}}), {x, w}), ErrorKind::kInvalidInput,
               "output_shape has 1 values, expected 2 spatial dims");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"output_shape", ints({9, 0})}}), {x, w}),
               ErrorKind::kInvalidInput, "output_shape [9,0] must be positive");
  expect_error(prepare(make_node("ConvTranspose", 2, {{"pads", ints({4, 0, 4, 0})}}), {x, w}),
               ErrorKind::kInvalidInput, "output size along spatial axis 0 would be -1");
  expect_error(prepare(make_node("ConvTranspose", 3), {x, w, f32({4})}), ErrorKind::kInvalidInput,
               "bias B has shape [4], expected [3]");
  expect_error(prepare(make_node("ConvTranspose", 2), {x, f32({4, 3, 3})}), ErrorKind::kInvalidInput,
               "expected rank 4");
}

TEST(ConvTransposePrepare, OutputShapes) {
  const auto x = f32({1, 4, 3, 3});
  const auto w = f32({4, 2, 3, 3});
  auto p = prepare(make_node("ConvTranspose", 2, {{"strides", ints({3, 2})}, {"output_shape", ints({10, 8})}}), {x, w});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.out.shape, (Shape{1, 2, 10, 8}));
  // A full [N, C, H, W] output_shape is accepted too.
  p = prepare(make_node("ConvTranspose", 2, {{"strides", ints({3, 2})}, {"output_shape", ints({1, 2, 10, 8})}}),
              {x, w});
  EXPECT_EQ(p.out.shape, (Shape{1, 2, 10, 8}));
  p = prepare(make_node("ConvTranspose", 2, {{"strides", ints({2, 2})}, {"auto_pad", str("SAME_LOWER")}}), {x, w});
  EXPECT_EQ(p.out.shape, (Shape{1, 2, 6, 6}));
  p = prepare(make_node("ConvTranspose", 2,
                        {{"group", one_int(2)}, {"strides", ints({3, 2})}, {"output_padding", ints({1, 1})},
                         {"pads", ints({1, 2, 1, 0})}, {"dilations", ints({2, 1})}}),
              {x, w});
  // (3-1)*3 + 1 + (3-1)*2+1 - 2 = 10 ; (3-1)*2 + 1 + 3 - 2 = 6
  EXPECT_EQ(p.out.shape, (Shape{1, 4, 10, 6}));
}

// ---- Gemm / MatMul ----

TEST(GemmPrepare, RejectsBadNodes) {
  expect_error(prepare(make_node("Gemm", 2), {f32({2, 3, 4}), f32({4, 5})}), ErrorKind::kInvalidInput,
               "input A has shape [2,3,4], expected a matrix");
  expect_error(prepare(make_node("Gemm", 2), {f32({2, 3}), f32({4, 5})}), ErrorKind::kInvalidInput,
               "have different inner dimensions 3 and 4");
  expect_error(prepare(make_node("Gemm", 2, {{"transA", one_int(2)}}), {f32({3, 2}), f32({3, 5})}),
               ErrorKind::kInvalidInput, "transA is 2, expected 0 or 1");
  expect_error(prepare(make_node("Gemm", 3), {f32({2, 3}), f32({3, 5}), f32({3, 1})}), ErrorKind::kInvalidInput,
               "input C of shape [3,1] cannot be broadcast to the output [2,5]");
  expect_error(prepare(make_node("Gemm", 3), {f32({2, 3}), f32({3, 5}), f32({1, 2, 5})}), ErrorKind::kInvalidInput,
               "input C has shape [1,2,5], expected at most 2 dims");
  expect_error(prepare(make_node("Gemm", 2), {f32({2, 3}), TensorInfo{DType::kInt64, {3, 5}, nullptr}}),
               ErrorKind::kUnsupported, "element type int64");
  auto p = prepare(make_node("Gemm", 3, {{"transA", one_int(1)}, {"transB", one_int(1)}}),
                   {f32({3, 2}), f32({5, 3}), f32({5})});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.out.shape, (Shape{2, 5}));
  EXPECT_EQ(p.kernel->impl(), "onednn");
  p = prepare(make_node("Gemm", 2), {f32({2, 3}), f32({3, 5})}, false);
  EXPECT_EQ(p.kernel->impl(), "reference");
}

TEST(MatMulPrepare, RejectsBadNodesAndPlansShapes) {
  expect_error(prepare(make_node("MatMul", 2), {f32({}), f32({3})}), ErrorKind::kInvalidInput,
               "must have at least one dimension");
  expect_error(prepare(make_node("MatMul", 2), {f32({2, 3}), f32({4, 5})}), ErrorKind::kInvalidInput,
               "inner dimensions of [2,3] and [4,5] differ (3 vs 4)");
  expect_error(prepare(make_node("MatMul", 2), {f32({2, 3, 4}), f32({3, 4, 5})}), ErrorKind::kInvalidInput,
               "cannot be broadcast together");
  expect_error(prepare(make_node("MatMul", 2), {f32({2, 3}), TensorInfo{DType::kInt64, {3, 5}, nullptr}}),
               ErrorKind::kInvalidInput, "different element types");
  expect_error(prepare(make_node("MatMul", 2), {TensorInfo{DType::kFloat16, {2, 3}, nullptr}, f32({3, 5})}),
               ErrorKind::kUnsupported, "element type float16");
  auto p = prepare(make_node("MatMul", 2), {f32({2, 1, 4, 3}), f32({5, 3, 6})});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.out.shape, (Shape{2, 5, 4, 6}));
  EXPECT_EQ(p.kernel->impl(), "onednn");
  p = prepare(make_node("MatMul", 2), {f32({3}), f32({2, 3, 4})});
  EXPECT_EQ(p.out.shape, (Shape{2, 4}));
  p = prepare(make_node("MatMul", 2), {TensorInfo{DType::kInt64, {2, 3}, nullptr}, TensorInfo{DType::kInt64, {3}, nullptr}});
  EXPECT_EQ(p.out.dtype, DType::kInt64);
  EXPECT_EQ(p.out.shape, (Shape{2}));
  EXPECT_EQ(p.kernel->impl(), "reference");
}

// ---- end to end on ONNX's node tests, both kernels, weights as inputs and as constants ----

namespace fs = std::filesystem;

std::vector<fs::path> numbered(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> v;
  for (int i = 0; fs::exists(dir / (prefix + std::to_string(i) + ".pb")); ++i)
    v.push_back(dir / (prefix + std::to_string(i) + ".pb"));
  return v;
}

TEST(ConvGemmNodeTests, BothKernelsMatchOnnxOutputs) {
  const fs::path root = "/usr/share/libonnx-testdata/data/node";
  if (!fs::is_directory(root)) GTEST_SKIP() << "libonnx-testdata is not installed";
  int checked = 0;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    auto loaded = onnx_io::load_model((e.path() / "model.onnx").string());
    if (!loaded.ok() || loaded->nodes.size() != 1) continue;
    const std::string op = loaded->nodes[0].op_type;
    if (op != "Conv" && op != "ConvTranspose" && op != "Gemm" && op != "MatMul") continue;
    const auto in_files = numbered(e.path() / "test_data_set_0", "input_");
    const auto out_files = numbered(e.path() / "test_data_set_0", "output_");
    std::vector<Tensor> in_values;
    for (const auto& f : in_files) in_values.push_back(*onnx_io::load_tensor_pb(f.string()));
    const Tensor want = *onnx_io::load_tensor_pb(out_files.at(0).string());
    for (bool constant_weights : {false, true})
      for (bool use_fast : {false, true}) {
        SCOPED_TRACE(name + (use_fast ? " onednn" : " reference") + (constant_weights ? " const" : ""));
        auto graph = std::make_shared<ir::Graph>(*loaded);
        std::map<std::string, Tensor> inputs;
        for (size_t i = 0; i < in_values.size(); ++i) {
          // Every input after the first can become an initializer, as weights are in real models.
          if (constant_weights && i > 0)
            graph->initializers[loaded->inputs[i].name] = in_values[i];
          else
            inputs[loaded->inputs[i].name] = in_values[i];
        }
        if (constant_weights) graph->inputs.resize(1);
        runtime::Engine engine(graph, runtime::PlanOptions{KernelOptions{use_fast}});
        auto plan = engine.PlanFor(inputs);
        ASSERT_TRUE(plan.ok()) << plan.status().message();
        ASSERT_EQ((*plan)->plan->steps().size(), 1u);
        const bool fast_possible = op == "Conv" || op == "ConvTranspose" || want.dtype() == DType::kFloat32;
        EXPECT_EQ((*plan)->plan->steps()[0].kernel->impl(), use_fast && fast_possible ? "onednn" : "reference");
        auto out = engine.Run(inputs);
        ASSERT_TRUE(out.ok()) << out.status().message();
        const Tensor& got = out->at(graph->outputs[0].name);
        ASSERT_EQ(got.shape(), want.shape());
        for (int64_t i = 0; i < want.numel(); ++i)
          ASSERT_NEAR(got.GetAsDouble(i), want.GetAsDouble(i), 1e-5 + 1e-4 * std::fabs(want.GetAsDouble(i))) << i;
      }
    ++checked;
  }
  EXPECT_GE(checked, 30);  // 6 Conv, 10 ConvTranspose, 11 Gemm, 3 MatMul in libonnx-testdata
}

}  // namespace
}  // namespace qs::ops
