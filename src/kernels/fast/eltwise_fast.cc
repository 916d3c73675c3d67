// Keep a*b+c as two roundings, as in the reference kernels (built without FMA): the AVX-512
// clones below would otherwise contract it into an FMA and differ in the last bit.
#pragma GCC optimize("fp-contract=off")

#include "kernels/fast/eltwise_fast.h"
#include "kernels/fast/vec_math.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

namespace qs::kernels::fast {

// ---- threading ----------------------------------------------------------------------------

int chunk_threads(int64_t n, int64_t min_per_thread) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
  const int64_t by_work = n / std::max<int64_t>(1, min_per_thread);
  if (by_work < 2) return 1;
  return static_cast<int>(std::min<int64_t>(by_work, omp_get_max_threads()));
#else
  (void)n;
  (void)min_per_thread;
  return 1;
#endif
}

SingleThreaded::SingleThreaded() {
#ifdef _OPENMP
  saved_ = omp_get_max_threads();
  if (saved_ > 1) omp_set_num_threads(1);
#endif
}

SingleThreaded::~SingleThreaded() {
#ifdef _OPENMP
  if (saved_ > 1) omp_set_num_threads(saved_);
#endif
}

namespace detail {
void run_threads(int threads, void (*body)(void*, int), void* ctx) {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
  body(ctx, omp_get_thread_num());
#else
  for (int t = 0; t < threads; ++t) body(ctx, t);
#endif
}
}  // namespace detail

namespace {

// Element-wise work below this many elements per thread is not worth waking another thread
// (measured on the 2-core machine: 200K-element Relu/BN were slower split in two, 800K twice as fast).
constexpr int64_t kMinPerThread = 128 * 1024;

// ---- binary -------------------------------------------------------------------------------

// mode 0: a[i] op b[i]; 1: a[i] op b[0]; 2: a[0] op b[i]; 3: every y[i] = a[0] op b[0].
template <typename F>
QS_ALWAYS_INLINE inline void binary_run(int mode, const float* a, const float* b, float* y, int64_t n, F f) {
  switch (mode) {
    case 0:
      for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
      break;
    case 1: {
      const float vb = b[0];
      for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], vb);
      break;
    }
    case 2: {
      const float va = a[0];
      for (int64_t i = 0; i < n; ++i) y[i] = f(va, b[i]);
      break;
    }
    default: {
      const float v = f(a[0], b[0]);
      for (int64_t i = 0; i < n; ++i) y[i] = v;
      break;
    }
  }
}

// Same expressions as the reference (kernels/reference/elementwise.cc) for float.
QS_VEC_CLONES void add_run(int mode, const float* a, const float* b, float* y, int64_t n) {
  binary_run(mode, a, b, y, n, [](float x, float z) { return x + z; });
}
QS_VEC_CLONES void sub_run(int mode, const float* a, const float* b, float* y, int64_t n) {
  binary_run(mode, a, b, y, n, [](float x, float z) { return x - z; });
}
QS_VEC_CLONES void mul_run(int mode, const float* a, const float* b, float* y, int64_t n) {
  binary_run(mode, a, b, y, n, [](float x, float z) { return x * z; });
}
QS_VEC_CLONES void div_run(int mode, const float* a, const float* b, float* y, int64_t n) {
  binary_run(mode, a, b, y, n, [](float x, float z) { return x / z; });
}
// NaN propagates like numpy (the reference's nan_max / nan_min); x != x is isnan.
QS_VEC_CLONES void max_run(int mode, const float* a, const float* b, float* y, int64_t n) {
  binary_run(mode, a, b, y, n, [](float x, float z) { return (x > z || x != x) ? x : z; });
}
QS_VEC_CLONES void min_run(int mode, const float* a, const float* b, float* y, int64_t n) {
  binary_run(mode, a, b, y, n, [](float x, float z) { return (x < z || x != x) ? x : z; });
}

using RunFn = void (*)(int, const float*, const float*, float*, int64_t);

RunFn run_fn(ref::BinaryOp op) {
  switch (op) {
    case ref::BinaryOp::kAdd: return add_run;
    case ref::BinaryOp::kSub: return sub_run;
    case ref::BinaryOp::kMul: return mul_run;
    case ref::BinaryOp::kDiv: return div_run;
    case ref::BinaryOp::kMax: return max_run;
    case ref::BinaryOp::kMin: return min_run;
  }
  return add_run;
}

}  // namespace

void binary_f32(ref::BinaryOp op, const ref::BroadcastParams& p, const float* a, const float* b, float* y) {
  const size_t r = p.dims.size();
  const int64_t inner = p.dims[r - 1];
  if (inner == 0 || p.numel == 0) return;
  const int64_t sa = p.strides[0][r - 1], sb = p.strides[1][r - 1];
  const int mode = sa == 1 && sb == 1 ? 0 : sa == 1 ? 1 : sb == 1 ? 2 : 3;
  const RunFn fn = run_fn(op);
  const int64_t runs = p.numel / inner;
  if (runs == 1) {  // one contiguous run (equal shapes, or a scalar operand): split it
    parallel_chunks(inner, kMinPerThread, [&](int64_t lo, int64_t hi) {
      fn(mode, a + lo * sa, b + lo * sb, y + lo, hi - lo);
    });
    return;
  }
  // Several runs (e.g. a per-channel operand: [N*C runs of H*W]): split the runs. Each chunk
  // finds its first run's input offsets from the run index, then steps odometer style as
  // ref::for_each_run does.
  parallel_chunks(runs, std::max<int64_t>(1, kMinPerThread / inner), [&](int64_t lo, int64_t hi) {
    const size_t outer = r - 1;
    std::vector<int64_t> idx(outer, 0);
    int64_t off_a = 0, off_b = 0;
    for (int64_t rest = lo, d = static_cast<int64_t>(outer) - 1; d >= 0; --d) {
      idx[d] = rest % p.dims[d];
      rest /= p.dims[d];
      off_a += idx[d] * p.strides[0][d];
      off_b += idx[d] * p.strides[1][d];
    }
    for (int64_t run = lo; run < hi; ++run) {
      fn(mode, a + off_a, b + off_b, y + run * inner, inner);
      for (size_t d = outer; d-- > 0;) {
        off_a += p.strides[0][d];
        off_b += p.strides[1][d];
        if (++idx[d] < p.dims[d]) break;
        off_a -= p.strides[0][d] * p.dims[d];
        off_b -= p.strides[1][d] * p.dims[d];
        idx[d] = 0;
      }
    }
  });
}

// ---- activations --------------------------------------------------------------------------

namespace {

// The largest |x| as bits: at or above 0x7f800000 (the bits of +inf) means NaN or infinity. An
// integer max vectorizes without reassociating float arithmetic.
QS_VEC_CLONES uint32_t max_abs_bits(const float* x, int64_t n) {
  uint32_t m = 0;
  for (int64_t i = 0; i < n; ++i) {
    uint32_t b;
    std::memcpy(&b, x + i, sizeof b);
    b &= 0x7fffffffu;
    m = b > m ? b : m;
  }
  return m;
}

QS_VEC_CLONES void relu_run(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

QS_VEC_CLONES void clip_run(const float* x, float* y, int64_t n, float lo, float hi) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] < lo ? lo : x[i];
    y[i] = hi < v ? hi : v;
  }
}

QS_VEC_CLONES void leaky_relu_run(const float* x, float* y, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.f ? alpha * x[i] : x[i];
}

// std::max(0, std::min(1, v)) spelled out: std::min(a, b) is b < a ? b : a, std::max(a, b) is a < b ? b : a.
QS_ALWAYS_INLINE inline float clamp01(float v) {
  const float m = v < 1.f ? v : 1.f;
  return 0.f < m ? m : 0.f;
}

QS_VEC_CLONES void hard_sigmoid_run(const float* x, float* y, int64_t n, float alpha, float beta) {
  for (int64_t i = 0; i < n; ++i) y[i] = clamp01(alpha * x[i] + beta);
}

QS_VEC_CLONES void hard_swish_run(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * clamp01(x[i] / 6.f + 0.5f);
}

// Sigmoid of 8 floats: the reference's two branches, both exponentiating -|v| <= 0
// (vec::exp_nonpositive). NaN stays NaN.
QS_ALWAYS_INLINE inline void sigmoid8(const float* x, float* y) {
  using vec::V8f;
  V8f v;
  __builtin_memcpy(&v, x, sizeof v);
  V8f e;
  vec::exp_nonpositive(v >= 0.f ? -v : v, &e);
  const V8f q = 1.f / (1.f + e);
  V8f s = v >= 0.f ? q : e * q;
  s = v != v ? v : s;
  __builtin_memcpy(y, &s, sizeof s);
}

QS_VEC_CLONES void sigmoid_run(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) sigmoid8(x + i, y + i);
  if (i < n) {
    float in[8] = {}, out[8];
    for (int64_t j = i; j < n; ++j) in[j - i] = x[j];
    sigmoid8(in, out);
    for (int64_t j = i; j < n; ++j) y[j] = out[j - i];
  }
}

}  // namespace

// Erf by glibc's vector math library (libmvec, glibc 2.35+): its AVX2 form where the CPU has
// AVX2, its SSE form otherwise; elsewhere std::erf.
#if defined(__x86_64__) && defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
#define QS_HAVE_LIBMVEC_ERF 1
extern "C" __m256 _ZGVdN8v_erff(__m256);
extern "C" __m128 _ZGVbN4v_erff(__m128);
#endif

namespace {

#ifdef QS_HAVE_LIBMVEC_ERF
__attribute__((target("avx2"))) void erf_run_avx2(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _ZGVdN8v_erff(_mm256_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = std::erf(x[i]);
}

void erf_run_sse(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _ZGVbN4v_erff(_mm_loadu_ps(x + i)));
  for (; i < n; ++i) y[i] = std::erf(x[i]);
}
#endif

void erf_run(const float* x, float* y, int64_t n) {
#ifdef QS_HAVE_LIBMVEC_ERF
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return erf_run_avx2(x, y, n);
  return erf_run_sse(x, y, n);
#else
  for (int64_t i = 0; i < n; ++i) y[i] = std::erf(x[i]);
#endif
}

}  // namespace

void erf_f32(const float* x, float* y, int64_t n) {
  parallel_chunks(n, kMinPerThread / 4, [&](int64_t b, int64_t e) { erf_run(x + b, y + b, e - b); });
}

bool all_finite_f32(const float* x, int64_t n) {
  std::atomic<bool> finite{true};
  parallel_chunks(n, kMinPerThread, [&](int64_t b, int64_t e) {
    if (max_abs_bits(x + b, e - b) >= 0x7f800000u) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load(std::memory_order_relaxed);
}

void relu_f32(const float* x, float* y, int64_t n) {
  parallel_chunks(n, kMinPerThread, [&](int64_t lo, int64_t hi) { relu_run(x + lo, y + lo, hi - lo); });
}

void clip_f32(const float* x, float* y, int64_t n, float lo, float hi) {
  parallel_chunks(n, kMinPerThread, [&](int64_t b, int64_t e) { clip_run(x + b, y + b, e - b, lo, hi); });
}

bool activation_supported(ref::Activation kind) {
  switch (kind) {
    case ref::Activation::kRelu:
    case ref::Activation::kLeakyRelu:
    case ref::Activation::kHardSigmoid:
    case ref::Activation::kHardSwish:
    case ref::Activation::kSigmoid:
      return true;
    default:
      return false;
  }
}

void activation_f32(const ref::ActivationParams& p, const float* x, float* y, int64_t n) {
  const float alpha = static_cast<float>(p.alpha), beta = static_cast<float>(p.beta);
  // Sigmoid costs more per element: split smaller tensors too.
  const int64_t grain = p.kind == ref::Activation::kSigmoid ? kMinPerThread / 4 : kMinPerThread;
  parallel_chunks(n, grain, [&](int64_t b, int64_t e) {
    const float* xs = x + b;
    float* ys = y + b;
    const int64_t m = e - b;
    switch (p.kind) {
      case ref::Activation::kRelu: relu_run(xs, ys, m); break;
      case ref::Activation::kLeakyRelu: leaky_relu_run(xs, ys, m, alpha); break;
      case ref::Activation::kHardSigmoid: hard_sigmoid_run(xs, ys, m, alpha, beta); break;
      case ref::Activation::kHardSwish: hard_swish_run(xs, ys, m); break;
      case ref::Activation::kSigmoid: sigmoid_run(xs, ys, m); break;
      default: ref::activation<float>(p, xs, ys, m); break;
    }
  });
}

}  // namespace qs::kernels::fast
