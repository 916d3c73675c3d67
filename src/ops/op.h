// Operator definitions: each op validates its node once in prepare (attributes, input
// types and shapes, output shapes) and returns a Kernel whose run cannot fail.
// Ops turn IR attributes into the kernels' parameter structs; kernels never see the IR.
#pragma once
#include <fmt/format.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/precision.h"
#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"

namespace qs::ops {

struct TensorInfo {
  DType dtype = DType::kUndefined;
  Shape shape;
  const Tensor* value = nullptr;  // the value, when it is a constant known at plan time
  bool present() const { return dtype != DType::kUndefined; }
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

struct KernelOptions {
  bool use_fast = true;  // oneDNN kernels where they exist; false forces the reference kernels
  // Fast FP32 convolutions may run as Winograd (kernels/fast/conv_onednn.h), whose rounding
  // differs from the direct convolution's by a few ulps. The planner turns it off for FP16
  // layers, whose half-precision roundings such a difference could flip.
  bool winograd = true;
  // Kernels that will run only a few times each (a sweep step's): prefer forms whose oneDNN
  // primitives layers of the same shape share (creating one JITs code, 1-3 ms for an int8
  // convolution) over the fastest per run. The same numbers either way. See
  // kernels::fast::ConvS8Epilogue::scales_as_operand.
  bool few_runs = false;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  // inputs[i] is nullptr for an absent optional input; outputs are allocated with the
  // shapes and types that prepare planned.
  virtual void run(std::span<const Tensor* const> inputs, std::span<Tensor* const> outputs) = 0;
  // Which implementation runs: "reference", "onednn", ...
  virtual std::string_view impl() const { return "reference"; }
  // True when run() writes every element of every output, so the planner need not zero them.
  virtual bool writes_all_outputs() const { return false; }
  // True when run() sets each output Tensor itself (a view that shares an input's buffer), so
  // the planner hands it empty tensors instead of allocating them. Inputs are never written
  // while anyone else holds them (in_place_input), so a view stays valid for as long as it is held.
  virtual bool makes_outputs() const { return false; }
  // True when run() picks its own thread count by the work it has, and a parallel region of
  // its costs little to start; the planner then does not hold a small layer to one thread.
  virtual bool picks_threads() const { return false; }
  // The input whose buffer output 0 may take over, or -1. Where this step is that input's last
  // reader and no one else holds its buffer, the planner hands run() that buffer as output 0
  // (same dtype and shape), so run() must compute correctly with out[0] aliasing that input:
  // a residual added in place instead of copied.
  virtual int in_place_input() const { return -1; }
};

using KernelFn = std::function<void(std::span<const Tensor* const>, std::span<Tensor* const>)>;

class FnKernel final : public Kernel {
 public:
  FnKernel(KernelFn fn, std::string_view impl, bool writes_all, bool picks_threads = false, int in_place_input = -1)
      : fn_(std::move(fn)), impl_(impl), writes_all_(writes_all), picks_threads_(picks_threads),
        in_place_input_(in_place_input) {}
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out) override { fn_(in, out); }
  std::string_view impl() const override { return impl_; }
  bool writes_all_outputs() const override { return writes_all_; }
  bool picks_threads() const override { return picks_threads_; }
  int in_place_input() const override { return in_place_input_; }

 private:
  KernelFn fn_;
  std::string_view impl_;
  bool writes_all_;
  bool picks_threads_;
  int in_place_input_;
};

// A kernel whose one output is its input 0 with another shape, sharing the buffer (Reshape,
// Flatten, Squeeze, Unsqueeze, Identity): no copy.
class ViewKernel final : public Kernel {
 public:
  explicit ViewKernel(Shape shape) : shape_(std::move(shape)) {}
  void run(std::span<const Tensor* const> in, std::span<Tensor* const> out) override {
    *out[0] = in[0]->Reshaped(shape_);
  }
  std::string_view impl() const override { return "view"; }
  bool writes_all_outputs() const override { return true; }
  bool makes_outputs() const override { return true; }

 private:
  Shape shape_;
};

// writes_all: fn writes every element of every output (see Kernel::writes_all_outputs); the
// others: Kernel::picks_threads and Kernel::in_place_input.
inline std::unique_ptr<Kernel> make_kernel(KernelFn fn, std::string_view impl = "reference", bool writes_all = false,
                                           bool picks_threads = false, int in_place_input = -1) {
  return std::make_unique<FnKernel>(std::move(fn), impl, writes_all, picks_threads, in_place_input);
}

struct PrepareContext {
  const ir::Node& node;
  int64_t opset = 0;
  std::vector<TensorInfo> inputs;   // one per node input; absent ones have dtype kUndefined
  std::vector<TensorInfo> outputs;  // one per node output; prepare sets dtype and shape
  KernelOptions options;
  // The layer's precision. Only ops with OpSchema::native_int8 see kInt8 (they quantize
  // themselves); the planner runs every other INT8 or FP16 layer through a wrapper.
  Precision precision = Precision::kFp32;
  // For INT8: the scale of each input read in INT8 (0 for inputs read as float).
  std::vector<float> input_scales;
  float input_scale(size_t i) const { return i < input_scales.size() ? input_scales[i] : 0.f; }

  bool has_input(size_t i) const { return i < inputs.size() && inputs[i].present(); }
  const TensorInfo& in(size_t i) const;
  TensorInfo& out(size_t i) { return outputs[i]; }
  void set_output(size_t i, DType dtype, Shape shape) {
    if (i < outputs.size()) outputs[i] = TensorInfo{dtype, std::move(shape), nullptr};
  }

  // Errors that name the node: "node 'conv1' (Conv): <message>".
  template <typename... Args>
  Status error(fmt::format_string<Args...> f, Args&&... args) const {
    return InvalidInput("{}{}", node.where(), fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  Status unsupported(fmt::format_string<Args...> f, Args&&... args) const {
    return Unsupported("{}{}", node.where(), fmt::format(f, std::forward<Args>(args)...));
  }
  // Checks the count of present inputs (trailing absent ones do not count).
  Status expect_inputs(size_t min, size_t max) const;
  // Checks that input i is present and has one of the given types.
  Status expect_dtype(size_t i, std::initializer_list<DType> allowed) const;
  // Input i must be a constant known at plan time (e.g. a Reshape's shape); returns it.
  Expected<const Tensor*> constant_input(size_t i, std::string_view what) const;
  // Reads a constant int64/int32 input as a vector.
  Expected<std::vector<int64_t>> constant_ints(size_t i, std::string_view what) const;
};

using PrepareFn = Expected<std::unique_ptr<Kernel>> (*)(PrepareContext& ctx);

struct OpSchema {
  std::string_view op_type;
  PrepareFn prepare;
  // True for ops whose outputs follow from the input shapes alone (Shape, Size): the
  // planner folds them to constants once shapes are known.
  bool reads_only_shape = false;
  // True for ops with their own INT8 implementation (integer kernels); see PrepareContext.
  bool native_int8 = false;
};

// The one list of supported ops (default ONNX domain); registry.cc assembles it from
// the op families.
std::span<const OpSchema> all_ops();
const OpSchema* find_op(std::string_view op_type);

// qscope's own ops (domain "qscope"), which only the precision lowering creates: fused
// Conv/Gemm blocks that run in FP32 or with integer kernels.
inline constexpr std::string_view kInternalDomain = "qscope";

// Channels-last activations (passes/layout.h): [N, C, spatial...] <-> [N, spatial..., C].
// Both need rank >= 2.
inline Shape channels_last_shape(const Shape& s) {
  Shape r{s[0]};
  r.insert(r.end(), s.begin() + 2, s.end());
  r.push_back(s[1]);
  return r;
}
inline Shape channels_first_shape(const Shape& s) {
  Shape r{s[0], s.back()};
  r.insert(r.end(), s.begin() + 1, s.end() - 1);
  return r;
}
std::span<const OpSchema> internal_ops();
// Element-wise ops that a qscope EltwiseChain may hold (passes/eltwise_chain.h): one float
// output, each element computed from the same element of the inputs.
bool chainable_elementwise(std::string_view op_type);
// Looks an op up by domain: "" for ONNX's ops, kInternalDomain for qscope's.
const OpSchema* find_op(std::string_view domain, std::string_view op_type);

// Multidirectional (numpy) broadcasting of two shapes; error names the node.
Expected<Shape> broadcast_shapes(const PrepareContext& ctx, const Shape& a, const Shape& b);

}  // namespace qs::ops
