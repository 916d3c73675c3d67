// OpCase: one node with inputs (constant or shape-only), its op's prepare, and a run of the
// kernel it returns, for the op tests.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "ops/op.h"

namespace qs::ops {

// Builds one node with inputs (constant or shape-only) and runs the op's prepare.
class OpCase {
 public:
  OpCase(std::string op, int64_t opset, size_t n_outputs = 1) : opset_(opset) {
    node_.name = "n";
    node_.op_type = std::move(op);
    for (size_t i = 0; i < n_outputs; ++i) node_.outputs.push_back("y" + std::to_string(i));
  }
  OpCase& ints(const std::string& name, std::vector<int64_t> v) {
    node_.attrs[name].kind = ir::Attribute::Kind::kInts;
    node_.attrs[name].ints = std::move(v);
    return *this;
  }
  OpCase& int_attr(const std::string& name, int64_t v) {
    node_.attrs[name].kind = ir::Attribute::Kind::kInt;
    node_.attrs[name].i = v;
    return *this;
  }
  OpCase& str(const std::string& name, std::string v) {
    node_.attrs[name].kind = ir::Attribute::Kind::kString;
    node_.attrs[name].s = std::move(v);
    return *this;
  }
  OpCase& strings(const std::string& name, std::vector<std::string> v) {
    node_.attrs[name].kind = ir::Attribute::Kind::kStrings;
    node_.attrs[name].strings = std::move(v);
    return *this;
  }
  OpCase& float_attr(const std::string& name, float v) {
    node_.attrs[name].kind = ir::Attribute::Kind::kFloat;
    node_.attrs[name].f = v;
    return *this;
  }
  OpCase& floats(const std::string& name, std::vector<float> v) {
    node_.attrs[name].kind = ir::Attribute::Kind::kFloats;
    node_.attrs[name].floats = std::move(v);
    return *this;
  }
  // A value known only by type and shape (a computed activation).
  OpCase& input(DType t, Shape s) {
    node_.inputs.push_back("x" + std::to_string(node_.inputs.size()));
    infos_.push_back(TensorInfo{t, std::move(s), nullptr});
    return *this;
  }
  // A constant input.
  OpCase& constant(Tensor t) {
    values_.push_back(std::make_unique<Tensor>(std::move(t)));
    node_.inputs.push_back("c" + std::to_string(node_.inputs.size()));
    infos_.push_back(TensorInfo{values_.back()->dtype(), values_.back()->shape(), values_.back().get()});
    return *this;
  }
  OpCase& ints_input(std::vector<int64_t> v) {
    return constant(Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v));
  }
  OpCase& absent() {
    node_.inputs.push_back("");
    infos_.emplace_back();
    return *this;
  }

  // The reference kernels instead of the fast ones.
  OpCase& reference() {
    use_fast_ = false;
    return *this;
  }

  Expected<std::unique_ptr<Kernel>> prepare() {
    const OpSchema* s = find_op(node_.op_type);
    if (!s) return InternalError("no op {}", node_.op_type);
    ctx_ = std::make_unique<PrepareContext>(PrepareContext{node_, opset_, infos_, {}, {}});
    ctx_->options.use_fast = use_fast_;
    ctx_->outputs.resize(node_.outputs.size());
    return s->prepare(*ctx_);
  }
  // Prepare must succeed; returns the planned shape of output i.
  Shape shape(size_t i = 0) {
    auto k = prepare();
    EXPECT_TRUE(k.ok()) << k.status().message();
    return k.ok() ? ctx_->outputs[i].shape : Shape{-99};
  }
  // Prepare must fail; returns the message.
  std::string error() {
    auto k = prepare();
    EXPECT_FALSE(k.ok()) << "prepare unexpectedly succeeded";
    return k.ok() ? "" : k.status().message();
  }
  // Prepares, then runs the kernel on the given run-time values of all inputs.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs) {
    std::vector<const Tensor*> in;
    for (const auto& t : inputs) in.push_back(&t);
    return run_ptrs(in);
  }
  // The same with nullptr for absent inputs; absent outputs come back undefined.
  std::vector<Tensor> run_ptrs(const std::vector<const Tensor*>& in) {
    auto k = prepare();
    EXPECT_TRUE(k.ok()) << k.status().message();
    if (!k.ok()) return {};
    std::vector<Tensor> outs;
    for (const auto& o : ctx_->outputs) outs.push_back(o.present() ? Tensor(o.dtype, o.shape) : Tensor());
    std::vector<Tensor*> out;
    for (auto& t : outs) out.push_back(t.defined() ? &t : nullptr);
    (*k)->run(in, out);
    return outs;
  }
  const PrepareContext& ctx() const { return *ctx_; }

 private:
  ir::Node node_;
  int64_t opset_;
  bool use_fast_ = true;
  std::vector<TensorInfo> infos_;
  std::vector<std::unique_ptr<Tensor>> values_;
  std::unique_ptr<PrepareContext> ctx_;
};

}  // namespace qs::ops
