// QuantizeLinear and DequantizeLinear (INT8.md item 18), as ONNX defines them for 8-bit
// integers: opset 10 (per tensor), 13 (per axis, attribute `axis`, default 1), 19 and 21
// (float8, int4, int16 and blocked quantization are not supported: named in the error).
// A Q/DQ model runs with them in plain float ("fake quantization"); passes/qdq_import.h turns
// the patterns it recognises into INT8 layers instead.
#include <string_view>

#include "kernels/reference/quantize_linear.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

namespace ref = kernels::ref;
using In = std::span<const Tensor* const>;
using Out = std::span<Tensor* const>;

// Validates scale (input 1) and zero point (input 2) against x (input 0) and returns the
// [outer, channels, inner] view; `qtype` is the integer type (the zero point's, or the
// quantized input's).
Expected<ref::QuantLayout> quant_layout(const PrepareContext& ctx, DType qtype) {
  QS_RETURN_IF_ERROR(ctx.expect_dtype(1, {DType::kFloat32}));
  if (ctx.has_input(2) && ctx.in(2).dtype != qtype)
    return ctx.error("zero point has element type {}, expected {}", dtype_name(ctx.in(2).dtype), dtype_name(qtype));
  QS_ASSIGN_OR_RETURN(int64_t block, ctx.node.attr_int("block_size", 0));
  if (block != 0) return ctx.unsupported("blocked quantization (block_size {}) is not supported", block);
  const Shape& xs = ctx.in(0).shape;
  const Shape& ss = ctx.in(1).shape;
  const int64_t n = numel(ss);
  if (ctx.has_input(2) && ctx.in(2).shape != ss)
    return ctx.error("zero point shape {} differs from scale shape {}", shape_str(ctx.in(2).shape), shape_str(ss));
  ref::QuantLayout l;
  l.outer = numel(xs);
  if (ss.empty() || (ss.size() == 1 && n == 1)) return l;  // per tensor
  if (ctx.opset < 13) return ctx.error("scale must be a scalar before opset 13, got shape {}", shape_str(ss));
  if (ss.size() != 1) return ctx.error("scale must be a scalar or 1-D, got shape {}", shape_str(ss));
  QS_ASSIGN_OR_RETURN(int64_t axis_attr, ctx.node.attr_int("axis", 1));
  auto axis = normalize_axis(axis_attr, static_cast<int64_t>(xs.size()));
  if (!axis.ok()) return ctx.error("axis {}: {} (input shape {})", axis_attr, axis.status().message(), shape_str(xs));
  const size_t a = static_cast<size_t>(*axis);
  if (xs[a] != n) return ctx.error("scale has {} values, axis {} of input {} has {}", n, *axis, shape_str(xs), xs[a]);
  l.outer = 1;
  l.inner = 1;
  for (size_t d = 0; d < a; ++d) l.outer *= xs[d];
  for (size_t d = a + 1; d < xs.size(); ++d) l.inner *= xs[d];
  l.channels = n;
  return l;
}

template <typename T>
const T* opt(In in, size_t i) {
  return i < in.size() && in[i] ? in[i]->data<T>() : nullptr;
}

Expected<std::unique_ptr<Kernel>> prepare_quantize_linear(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  QS_ASSIGN_OR_RETURN(int64_t out_type, ctx.node.attr_int("output_dtype", 0));
  // Without a zero point the output is uint8 (or output_dtype, opset 21).
  DType qtype = ctx.has_input(2) ? ctx.in(2).dtype : DType::kUInt8;
  if (out_type != 0 && !ctx.has_input(2)) qtype = dtype_from_onnx(static_cast<int>(out_type));
  if (qtype != DType::kInt8 && qtype != DType::kUInt8)
    return ctx.unsupported("quantizing to element type {} is not supported (int8 and uint8 are)",
                           qtype == DType::kUndefined ? std::string_view("unknown") : dtype_name(qtype));
  QS_ASSIGN_OR_RETURN(ref::QuantLayout l, quant_layout(ctx, qtype));
  ctx.set_output(0, qtype, ctx.in(0).shape);
  if (qtype == DType::kInt8)
    return make_kernel([l](In in, Out out) {
      ref::quantize_linear_s8(l, in[0]->data<float>(), in[1]->data<float>(), opt<int8_t>(in, 2), out[0]->data<int8_t>());
    });
  return make_kernel([l](In in, Out out) {
    ref::quantize_linear_u8(l, in[0]->data<float>(), in[1]->data<float>(), opt<uint8_t>(in, 2), out[0]->data<uint8_t>());
  });
}

Expected<std::unique_ptr<Kernel>> prepare_dequantize_linear(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(2, 3));
  const DType t = ctx.in(0).dtype;
  if (t != DType::kInt8 && t != DType::kUInt8 && t != DType::kInt32)
    return ctx.unsupported("dequantizing element type {} is not supported (int8, uint8 and int32 are)",
                           t == DType::kUndefined ? std::string_view("unknown") : dtype_name(t));
  QS_ASSIGN_OR_RETURN(ref::QuantLayout l, quant_layout(ctx, t));
  ctx.set_output(0, DType::kFloat32, ctx.in(0).shape);
  if (t == DType::kInt8)
    return make_kernel([l](In in, Out out) {
      ref::dequantize_linear_s8(l, in[0]->data<int8_t>(), in[1]->data<float>(), opt<int8_t>(in, 2), out[0]->data<float>());
    });
  if (t == DType::kUInt8)
    return make_kernel([l](In in, Out out) {
      ref::dequantize_linear_u8(l, in[0]->data<uint8_t>(), in[1]->data<float>(), opt<uint8_t>(in, 2),
                                out[0]->data<float>());
    });
  return make_kernel([l](In in, Out out) {
    ref::dequantize_linear_s32(l, in[0]->data<int32_t>(), in[1]->data<float>(), opt<int32_t>(in, 2),
                               out[0]->data<float>());
  });
}

const OpSchema kOps[] = {
    {"DequantizeLinear", prepare_dequantize_linear},
    {"QuantizeLinear", prepare_quantize_linear},
};

}  // namespace

std::span<const OpSchema> quantize_ops() { return kOps; }

}  // namespace qs::ops
