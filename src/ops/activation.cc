// Activation ops: Relu, ...
#include "kernels/reference/activation.h"
#include "ops/families.h"

namespace qs::ops {
namespace {

Expected<std::unique_ptr<Kernel>> prepare_relu(PrepareContext& ctx) {
  QS_RETURN_IF_ERROR(ctx.expect_inputs(1, 1));
  QS_RETURN_IF_ERROR(ctx.expect_dtype(0, {DType::kFloat32}));
  ctx.set_output(0, DType::kFloat32, ctx.in(0).shape);
  return make_kernel([](std::span<const Tensor* const> in, std::span<Tensor* const> out) {
    kernels::ref::relu_f32(in[0]->data<float>(), out[0]->data<float>(), in[0]->numel());
  });
}

const OpSchema kOps[] = {
    {"Relu", prepare_relu},
};

}  // namespace

std::span<const OpSchema> activation_ops() { return kOps; }

}  // namespace qs::ops
