// Reference element-wise activation kernels on float32: plain loops, the oracle.
#pragma once
#include <cstdint>

namespace qs::kernels::ref {

void relu_f32(const float* x, float* y, int64_t n);

}  // namespace qs::kernels::ref
