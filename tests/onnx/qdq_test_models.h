// Small ONNX models for the Q/DQ tests (conv chain, residual block, concat, pooling,
// depthwise, ConvTranspose, Gemm), written with protobuf into a file; seeded weights. And the
// helpers that lower a plan on them with distinct per-tensor scales.
#pragma once
#include <onnx/onnx_pb.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "app/export.h"
#include "app/model.h"
#include "onnx/tensor_proto.h"
#include "runtime/plan.h"

namespace qs::testing {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int64_t opset = 13) {
    m_.set_ir_version(7);
    auto* op = m_.add_opset_import();
    op->set_domain("");
    op->set_version(opset);
    m_.mutable_graph()->set_name("qdq_test");
  }
  void input(const std::string& name, const Shape& dims) { value(m_.mutable_graph()->add_input(), name, dims); }
  void ir_version(int64_t v) { m_.set_ir_version(v); }
  // Without dims the output's shape is written empty (rank 0), which libonnx's shape inference
  // rejects; qscope infers its own.
  void output(const std::string& name, const Shape& dims = {}) {
    auto* v = m_.mutable_graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    auto* shape = v->mutable_type()->mutable_tensor_type()->mutable_shape();
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  }
  // Seeded uniform values in [-1, 1] (offset away from 0 for BN variances when positive).
  void weight(const std::string& name, const Shape& dims, bool positive = false) {
    Tensor t(DType::kFloat32, dims);
    std::uniform_real_distribution<float> u(positive ? 0.5f : -1.f, 1.f);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = u(rng_);
    onnx_io::tensor_to_proto(t, name, m_.mutable_graph()->add_initializer());
  }
  void tensor(const std::string& name, const Tensor& t) {
    onnx_io::tensor_to_proto(t, name, m_.mutable_graph()->add_initializer());
  }
  onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> in,
                        std::vector<std::string> out) {
    auto* n = m_.mutable_graph()->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto& s : in) n->add_input(s);
    for (auto& s : out) n->add_output(s);
    return n;
  }
  static void ints(onnx::NodeProto* n, const std::string& name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }
  static void int_attr(onnx::NodeProto* n, const std::string& name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void float_attr(onnx::NodeProto* n, const std::string& name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(v);
  }
  static void floats(onnx::NodeProto* n, const std::string& name, std::vector<float> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOATS);
    for (auto x : v) a->add_floats(x);
  }
  // Conv with a 3x3 kernel (pads 1) or 1x1, weights "<name>.W" and bias "<name>.B".
  void conv(const std::string& name, const std::string& x, const std::string& y, int64_t cin, int64_t cout,
            int64_t k = 3, int64_t group = 1) {
    weight(name + ".W", {cout, cin / group, k, k});
    weight(name + ".B", {cout});
    auto* n = node("Conv", name, {x, name + ".W", name + ".B"}, {y});
    ints(n, "kernel_shape", {k, k});
    ints(n, "pads", {k / 2, k / 2, k / 2, k / 2});
    if (group != 1) int_attr(n, "group", group);
  }
  void bn(const std::string& name, const std::string& x, const std::string& y, int64_t c) {
    weight(name + ".g", {c});
    weight(name + ".b", {c});
    weight(name + ".m", {c});
    weight(name + ".v", {c}, true);
    node("BatchNormalization", name, {x, name + ".g", name + ".b", name + ".m", name + ".v"}, {y});
  }
  std::string save(const std::filesystem::path& path) const {
    std::ofstream f(path, std::ios::binary);
    m_.SerializeToOstream(&f);
    return path.string();
  }

 private:
  static void value(onnx::ValueInfoProto* v, const std::string& name, const Shape& dims) {
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(1);
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  onnx::ModelProto m_;
  std::mt19937 rng_{7};
};

// The test graphs: input "x", output "y".
inline std::string conv_chain_model(const std::filesystem::path& dir) {
  OnnxBuilder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  b.node("Relu", "relu1", {"c1"}, {"r1"});
  b.conv("conv2", "r1", "y", 4, 4);
  b.output("y");
  return b.save(dir / "conv_chain.onnx");
}

// conv1+bn1 with SiLU (b1 * Sigmoid(b1)), then conv2: one INT8 block, as TensorRT fuses it
// (INT8.md item 9), although the Sigmoid alone has no INT8 kernel.
inline std::string silu_model(const std::filesystem::path& dir) {
  OnnxBuilder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  b.bn("bn1", "c1", "b1", 4);
  b.node("Sigmoid", "sig", {"b1"}, {"s"});
  b.node("Mul", "silu", {"b1", "s"}, {"m"});
  b.conv("conv2", "m", "y", 4, 4);
  b.output("y");
  return b.save(dir / "silu.onnx");
}

// conv_a+bn_a+relu_a, then conv_b+bn_b + Add(x) + relu: a residual block.
inline std::string residual_model(const std::filesystem::path& dir) {
  OnnxBuilder b;
  b.input("x", {1, 4, 8, 8});
  b.conv("conv_a", "x", "ca", 4, 4);
  b.bn("bn_a", "ca", "ba", 4);
  b.node("Relu", "relu_a", {"ba"}, {"a"});
  b.conv("conv_b", "a", "cb", 4, 4);
  b.bn("bn_b", "cb", "bb", 4);
  b.node("Add", "add", {"bb", "x"}, {"s"});
  b.node("Relu", "relu_out", {"s"}, {"y"});
  b.output("y");
  return b.save(dir / "residual.onnx");
}

inline std::string concat_model(const std::filesystem::path& dir) {
  OnnxBuilder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 2);
  b.conv("conv2", "x", "c2", 3, 3);
  auto* cat = b.node("Concat", "cat", {"c1", "c2"}, {"cat_out"});
  OnnxBuilder::int_attr(cat, "axis", 1);
  b.conv("conv3", "cat_out", "y", 5, 2);
  b.output("y");
  return b.save(dir / "concat.onnx");
}

inline std::string pooling_model(const std::filesystem::path& dir) {
  OnnxBuilder b;
  b.input("x", {1, 3, 8, 8});
  b.conv("conv1", "x", "c1", 3, 4);
  b.node("Relu", "relu1", {"c1"}, {"r1"});
  auto* pool = b.node("MaxPool", "pool", {"r1"}, {"p"});
  OnnxBuilder::ints(pool, "kernel_shape", {2, 2});
  OnnxBuilder::ints(pool, "strides", {2, 2});
  b.conv("conv2", "p", "c2", 4, 4);
  b.node("GlobalAveragePool", "gap", {"c2"}, {"g"});
  b.node("Flatten", "flatten", {"g"}, {"f"});
  b.weight("fc.W", {3, 4});
  b.weight("fc.B", {3});
  auto* fc = b.node("Gemm", "fc", {"f", "fc.W", "fc.B"}, {"y"});
  OnnxBuilder::int_attr(fc, "transB", 1);
  b.output("y");
  return b.save(dir / "pooling.onnx");
}

inline std::string depthwise_model(const std::filesystem::path& dir) {
  OnnxBuilder b;
  b.input("x", {1, 4, 8, 8});
  b.conv("dw", "x", "d", 4, 4, 3, 4);
  b.bn("dw_bn", "d", "db", 4);
  b.node("Relu", "dw_relu", {"db"}, {"dr"});
  b.conv("pw", "dr", "pc", 4, 6, 1);
  b.weight("ct.W", {6, 2, 2, 2});  // ConvTranspose: [C_in, C_out, k, k]
  auto* ct = b.node("ConvTranspose", "ct", {"pc", "ct.W"}, {"y"});
  OnnxBuilder::ints(ct, "kernel_shape", {2, 2});
  OnnxBuilder::ints(ct, "strides", {2, 2});
  b.output("y");
  return b.save(dir / "depthwise.onnx");
}

// conv1, then a ConvTranspose of `group` groups with `out_per_group` output channels each
// (4 input channels): depthwise with group 4 and one output per group, whose per-channel
// weight scales lie on axis 0; otherwise on no single axis.
inline std::string grouped_conv_transpose_model(const std::filesystem::path& dir, int64_t group,
                                                int64_t out_per_group) {
  OnnxBuilder b;
  b.input("x", {1, 3, 4, 4});
  b.conv("conv1", "x", "c1", 3, 4);
  b.weight("ct.W", {4, out_per_group, 2, 2});
  auto* ct = b.node("ConvTranspose", "ct", {"c1", "ct.W"}, {"y"});
  OnnxBuilder::ints(ct, "kernel_shape", {2, 2});
  OnnxBuilder::ints(ct, "strides", {2, 2});
  OnnxBuilder::int_attr(ct, "group", group);
  b.output("y");
  return b.save(dir / ("grouped_ct_" + std::to_string(group) + "x" + std::to_string(out_per_group) + ".onnx"));
}

// Every float tensor of the model gets a distinct scale: 0.01 * (k + 1) in name order.
inline std::map<std::string, float> distinct_scales(const runtime::Plan& fp32) {
  std::map<std::string, float> s;
  for (const auto& [name, info] : fp32.value_infos())
    if (info.dtype == DType::kFloat32 && !fp32.constants().count(name)) s[name] = 0.f;
  int k = 0;
  for (auto& [name, scale] : s) scale = 0.01f * static_cast<float>(++k);
  return s;
}

inline Tensor seeded_input(const Shape& shape, unsigned seed = 3) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = n(rng);
  return t;
}

}  // namespace qs::testing
