#include "kernels/reference/activation.h"

namespace qs::kernels::ref {

void relu_f32(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

}  // namespace qs::kernels::ref
