// Reference element-wise activation kernels (float32 and float64): plain loops, the oracle.
#pragma once
#include <cstdint>

#include "kernels/reference/elementwise.h"

namespace qs::kernels::ref {

void relu_f32(const float* x, float* y, int64_t n);

enum class Activation {
  kRelu,
  kLeakyRelu,        // x < 0 ? alpha * x : x
  kSigmoid,
  kHardSigmoid,      // max(0, min(1, alpha * x + beta))
  kHardSwish,        // x * max(0, min(1, x / 6 + 1/2))
  kTanh,
  kElu,              // x < 0 ? alpha * (exp(x) - 1) : x
  kSelu,             // x <= 0 ? gamma * alpha * (exp(x) - 1) : gamma * x
  kSoftplus,         // log(1 + exp(x))
  kSoftsign,         // x / (1 + |x|)
  kGelu,             // x / 2 * (1 + erf(x / sqrt(2)))
  kGeluTanh,         // x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))
  kMish,             // x * tanh(softplus(x))
  kCelu,             // max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha != 0
  kThresholdedRelu,  // x > alpha ? x : 0
  kShrink,           // x < -alpha ? x + beta : x > alpha ? x - beta : 0 (alpha: lambd, beta: bias)
};

struct ActivationParams {
  Activation kind = Activation::kRelu;
  double alpha = 0.0;
  double beta = 0.0;
  double gamma = 0.0;
};

template <typename T>
void activation(const ActivationParams& p, const T* x, T* y, int64_t n);

// Clip to [lo, hi] (lo <= hi is not required: ONNX then yields hi everywhere, as here).
// NaN stays NaN. T: float, double, int8, uint8, int16, int32, int64.
template <typename T>
void clip(const T* x, T* y, int64_t n, T lo, T hi);

// PRelu: y = x < 0 ? slope * x : x, slope broadcast onto x's shape (p has inputs {x, slope}).
template <typename T>
void prelu(const BroadcastParams& p, const T* x, const T* slope, T* y);

}  // namespace qs::kernels::ref
