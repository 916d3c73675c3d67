#include "kernels/reference/activation.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace qs::kernels::ref {

void relu_f32(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

namespace {

template <typename T, typename F>
void map(const T* x, T* y, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
}

// log(1 + exp(x)) without overflow for large x or loss of precision for very negative x.
template <typename T>
T softplus(T v) {
  return v > 0 ? v + std::log1p(std::exp(-v)) : std::log1p(std::exp(v));
}

}  // namespace

template <typename T>
void activation(const ActivationParams& p, const T* x, T* y, int64_t n) {
  const T alpha = static_cast<T>(p.alpha), beta = static_cast<T>(p.beta), gamma = static_cast<T>(p.gamma);
  switch (p.kind) {
    case Activation::kRelu:
      return map(x, y, n, [](T v) { return v > 0 ? v : T(0); });
    case Activation::kLeakyRelu:
      return map(x, y, n, [=](T v) { return v < 0 ? alpha * v : v; });
    case Activation::kSigmoid:
      // Both branches stay finite: exp only ever sees a non-positive argument.
      return map(x, y, n, [](T v) {
        if (v >= 0) return T(1) / (T(1) + std::exp(-v));
        const T e = std::exp(v);
        return e / (T(1) + e);
      });
    case Activation::kHardSigmoid:
      return map(x, y, n, [=](T v) { return std::max(T(0), std::min(T(1), alpha * v + beta)); });
    case Activation::kHardSwish:
      return map(x, y, n, [](T v) { return v * std::max(T(0), std::min(T(1), v / T(6) + T(0.5))); });
    case Activation::kTanh:
      return map(x, y, n, [](T v) { return std::tanh(v); });
    case Activation::kElu:
      return map(x, y, n, [=](T v) { return v < 0 ? alpha * std::expm1(v) : v; });
    case Activation::kSelu:
      return map(x, y, n, [=](T v) { return v <= 0 ? gamma * alpha * std::expm1(v) : gamma * v; });
    case Activation::kSoftplus:
      return map(x, y, n, [](T v) { return softplus(v); });
    case Activation::kSoftsign:
      return map(x, y, n, [](T v) { return v / (T(1) + std::fabs(v)); });
    case Activation::kGelu:
      return map(x, y, n, [](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(std::numbers::sqrt2 / 2))); });
    case Activation::kGeluTanh: {
      const T k = static_cast<T>(std::sqrt(2.0 / std::numbers::pi));
      return map(x, y, n, [=](T v) { return T(0.5) * v * (T(1) + std::tanh(k * (v + T(0.044715) * v * v * v))); });
    }
    case Activation::kMish:
      return map(x, y, n, [](T v) { return v * std::tanh(softplus(v)); });
    case Activation::kCelu:
      return map(x, y, n, [=](T v) { return std::max(T(0), v) + std::min(T(0), alpha * std::expm1(v / alpha)); });
    case Activation::kThresholdedRelu:
      return map(x, y, n, [=](T v) { return v > alpha ? v : T(0); });
    case Activation::kShrink:
      return map(x, y, n, [=](T v) { return v < -alpha ? v + beta : v > alpha ? v - beta : T(0); });
  }
}

template <typename T>
void clip(const T* x, T* y, int64_t n, T lo, T hi) {
  // min(max(x, lo), hi) in this order: a NaN x compares false both times and passes through.
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i] < lo ? lo : x[i];
    y[i] = hi < v ? hi : v;
  }
}

template <typename T>
void prelu(const BroadcastParams& p, const T* x, const T* slope, T* y) {
  broadcast_binary(p, x, slope, y, [](T v, T s) { return v < 0 ? s * v : v; });
}

template void activation<float>(const ActivationParams&, const float*, float*, int64_t);
template void activation<double>(const ActivationParams&, const double*, double*, int64_t);
template void clip<float>(const float*, float*, int64_t, float, float);
template void clip<double>(const double*, double*, int64_t, double, double);
template void clip<int8_t>(const int8_t*, int8_t*, int64_t, int8_t, int8_t);
template void clip<uint8_t>(const uint8_t*, uint8_t*, int64_t, uint8_t, uint8_t);
template void clip<int16_t>(const int16_t*, int16_t*, int64_t, int16_t, int16_t);
template void clip<int32_t>(const int32_t*, int32_t*, int64_t, int32_t, int32_t);
template void clip<int64_t>(const int64_t*, int64_t*, int64_t, int64_t, int64_t);
template void prelu<float>(const BroadcastParams&, const float*, const float*, float*);
template void prelu<double>(const BroadcastParams&, const double*, const double*, double*);

}  // namespace qs::kernels::ref
