#include "kernels/reference/int8.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

// These loops run on every INT8 activation, so they must vectorize. The project builds with
// -O2 and no -march; GCC 12 at -O2 vectorizes almost nothing (its "very cheap" cost model)
// and, for x86-64 baseline, cannot vectorize nearbyint (no SSE4.1 roundps). So this file asks
// for -O3 and builds each public entry point for AVX-512, AVX2 and baseline, picked at load
// time (target_clones). fp-contract=off keeps `acc * s + b` two roundings in every clone:
// otherwise the FMA clones would give other bits than the baseline one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "fp-contract=off")
#if defined(__x86_64__)
#define QS_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#endif
#elif defined(__clang__)
#pragma clang fp contract(off)
#endif
#ifndef QS_VECTOR_CLONES
#define QS_VECTOR_CLONES
#endif

namespace qs::kernels::ref {
namespace {

// Inlined into each clone, so that its loop is compiled for that clone's ISA.
#define QS_INLINE [[gnu::always_inline]] inline

// round_half_even(x / scale) clamped to [lo, hi], as a float. Clamping before rounding gives
// the same integer (the bounds are integers) and keeps +-inf in range; NaN maps to 0. Written
// branch-free so that it vectorizes.
QS_INLINE float quantize_value(float x, float scale, float lo, float hi) {
  float v = x / scale;
  v = v == v ? v : 0.f;
  v = v < lo ? lo : v;
  v = v > hi ? hi : v;
  // + 0.f turns a -0 (from small negative x) into the +0 that the integer q = 0 stands for.
  return std::nearbyint(v) + 0.f;
}

using Act = Epilogue::Act;

// The activations exactly as kernels/reference/activation.cc computes them unfused, so that a
// fused block gives the same bits as the ops one after another.
template <Act A>
QS_INLINE float activate(float v, float alpha, float beta) {
  if constexpr (A == Act::kNone) {
    return v;
  } else if constexpr (A == Act::kRelu) {
    return v > 0.f ? v : 0.f;
  } else if constexpr (A == Act::kClip) {
    const float t = v < alpha ? alpha : v;
    return beta < t ? beta : t;
  } else if constexpr (A == Act::kLeakyRelu) {
    return v < 0.f ? alpha * v : v;
  } else {
    static_assert(A == Act::kSilu);
    float sig;
    if (v >= 0.f) {
      sig = 1.f / (1.f + std::exp(-v));
    } else {
      const float e = std::exp(v);
      sig = e / (1.f + e);
    }
    return v * sig;
  }
}

// One contiguous run of n outputs. kPerElement: scale/bias are indexed per element (a Gemm
// row, where channels are contiguous); otherwise one value holds for the whole run (a conv
// channel plane). For a float accumulator there is no scale. Compile-time choices keep each
// instantiation a plain loop the vectorizer handles.
template <Act A, bool kResidual, bool kPerElement, typename T>
QS_INLINE void epilogue_run(const T* acc, const float* scale, const float* bias, const float* residual, float alpha,
                            float beta, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = kPerElement ? i : 0;
    float v;
    if constexpr (std::is_same_v<T, int32_t>)
      v = static_cast<float>(acc[i]) * scale[c];
    else
      v = acc[i];
    v = v + bias[c];
    if constexpr (kResidual) v = v + residual[i];
    y[i] = activate<A>(v, alpha, beta);
  }
}

template <Act A, bool kResidual, typename T>
QS_INLINE void epilogue_tensor(const T* acc, int64_t outer, int64_t channels, int64_t inner, const float* scale,
                               const float* bias, const float* residual, const Epilogue& e, float* y) {
  if (inner == 1) {
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t base = o * channels;
      epilogue_run<A, kResidual, true>(acc + base, scale, bias, kResidual ? residual + base : nullptr, e.alpha, e.beta,
                                       y + base, channels);
    }
    return;
  }
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (o * channels + c) * inner;
      epilogue_run<A, kResidual, false>(acc + base, scale ? scale + c : nullptr, bias + c,
                                        kResidual ? residual + base : nullptr, e.alpha, e.beta, y + base, inner);
    }
}

template <typename T>
QS_INLINE void epilogue_any(const T* acc, int64_t outer, int64_t channels, int64_t inner, const float* scale,
                            const float* bias, const float* residual, const Epilogue& e, float* y) {
  auto with_act = [&]<Act A>() {
    if (residual)
      epilogue_tensor<A, true>(acc, outer, channels, inner, scale, bias, residual, e, y);
    else
      epilogue_tensor<A, false>(acc, outer, channels, inner, scale, bias, residual, e, y);
  };
  switch (e.act) {
    case Act::kNone: return with_act.template operator()<Act::kNone>();
    case Act::kRelu: return with_act.template operator()<Act::kRelu>();
    case Act::kClip: return with_act.template operator()<Act::kClip>();
    case Act::kLeakyRelu: return with_act.template operator()<Act::kLeakyRelu>();
    case Act::kSilu: return with_act.template operator()<Act::kSilu>();
  }
}

// Per-thread per-channel vectors (combined scales, zero bias), grown on demand so that warm
// runs allocate nothing.
float* thread_channel_buffer(int which, int64_t channels) {
  thread_local std::vector<float> buffers[2];
  std::vector<float>& b = buffers[which];
  if (b.size() < static_cast<size_t>(channels)) b.resize(static_cast<size_t>(channels), 0.f);
  return b.data();
}

}  // namespace

QS_VECTOR_CLONES
void quantize_f32_s8(const float* x, int8_t* q, int64_t n, float scale) {
  if (!(scale > 0.f)) {
    std::fill(q, q + n, int8_t{0});
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    q[i] = static_cast<int8_t>(static_cast<int32_t>(quantize_value(x[i], scale, -128.f, 127.f)));
}

QS_VECTOR_CLONES
void fake_quantize_f32(const float* x, float* y, int64_t n, float scale) {
  if (!(scale > 0.f)) {
    std::fill(y, y + n, 0.f);
    return;
  }
  for (int64_t i = 0; i < n; ++i) y[i] = quantize_value(x[i], scale, -128.f, 127.f) * scale;
}

QS_VECTOR_CLONES
void quantize_weights_s8(const float* w, const std::vector<int64_t>& shape, int64_t axis, int8_t* q, float* scales) {
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i) outer *= shape[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < shape.size(); ++i) inner *= shape[i];
  const int64_t channels = shape[static_cast<size_t>(axis)];
  std::fill(scales, scales + channels, 0.f);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const float* row = w + (o * channels + c) * inner;
      float m = scales[c];
      for (int64_t i = 0; i < inner; ++i) {
        const float a = std::fabs(row[i]);
        m = a > m ? a : m;  // NaN weights leave the maximum as it was, as std::max(m, NaN) does
      }
      scales[c] = m;
    }
  for (int64_t c = 0; c < channels; ++c) scales[c] /= 127.f;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t base = (o * channels + c) * inner;
      const float s = scales[c];
      if (!(s > 0.f)) {
        std::fill(q + base, q + base + inner, int8_t{0});
        continue;
      }
      for (int64_t i = 0; i < inner; ++i)
        q[base + i] = static_cast<int8_t>(static_cast<int32_t>(quantize_value(w[base + i], s, -127.f, 127.f)));
    }
}

QS_VECTOR_CLONES
void dequantize_epilogue(const int32_t* acc, int64_t outer, int64_t channels, int64_t inner, float x_scale,
                         const float* w_scales, const float* bias, const float* residual, const Epilogue& e, float* y) {
  float* scale = thread_channel_buffer(0, channels);
  for (int64_t c = 0; c < channels; ++c) scale[c] = x_scale * w_scales[c];
  // A missing bias adds +0.f: the same value except that -0 becomes +0.
  const float* b = bias ? bias : thread_channel_buffer(1, channels);
  epilogue_any(acc, outer, channels, inner, scale, b, residual, e, y);
}

QS_VECTOR_CLONES
void float_epilogue(const float* acc, int64_t outer, int64_t channels, int64_t inner, const float* bias,
                    const float* residual, const Epilogue& e, float* y) {
  const float* b = bias ? bias : thread_channel_buffer(1, channels);
  epilogue_any<float>(acc, outer, channels, inner, nullptr, b, residual, e, y);
}

}  // namespace qs::kernels::ref
