// Fast float32 element-wise kernels: broadcast binary arithmetic (Add Sub Mul Div Max Min),
// simple activations (Relu LeakyRelu Clip HardSigmoid HardSwish Sigmoid) and Erf. Same parameter
// structs as the reference kernels (kernels/reference/elementwise.h, activation.h).
//
// Results are bit-identical to the reference for every op here except Sigmoid (a vectorizable
// exp, within a few ulp) and Erf (glibc's libmvec, within 2 ulp). Inner loops are compiled for AVX-512 / AVX2 / baseline and picked
// at load time; large tensors are split over OpenMP threads when the library is built with
// -fopenmp (otherwise they run on the calling thread).
#pragma once
#include <cstdint>

#include "kernels/reference/activation.h"
#include "kernels/reference/elementwise.h"

// Inner loops are compiled three times (AVX-512, AVX2, baseline x86-64) and the best one for the
// CPU is picked at load time (GNU ifunc); elsewhere they are compiled once.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(QS_NO_TARGET_CLONES)
#define QS_VEC_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define QS_VEC_CLONES
#endif
#if defined(__GNUC__)
#define QS_ALWAYS_INLINE __attribute__((always_inline))
#else
#define QS_ALWAYS_INLINE
#endif

namespace qs::kernels::fast {

// Calls f(begin, end) on disjoint chunks covering [0, n), in parallel over OpenMP threads when
// built with OpenMP and n / min_per_thread >= 2; else f(0, n) on the calling thread.
// f must be safe to call concurrently on disjoint ranges.
template <typename F>
void parallel_chunks(int64_t n, int64_t min_per_thread, F&& f);

// Number of threads parallel_chunks would use for n items (1 without OpenMP).
int chunk_threads(int64_t n, int64_t min_per_thread);

// While alive, the OpenMP parallel regions this thread starts (oneDNN's included) use one
// thread; the thread's previous setting comes back after. For work too small to pay for
// waking another thread.
class SingleThreaded {
 public:
  SingleThreaded();
  ~SingleThreaded();
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int saved_ = 1;
};

// y = a op b under p (two inputs, float32); op: any ref::BinaryOp. Bit-identical to
// ref::binary<float>. y may alias a or b when that input is not broadcast.
void binary_f32(ref::BinaryOp op, const ref::BroadcastParams& p, const float* a, const float* b, float* y);

// Erf of float32 values by glibc's vector math library (libmvec; within 2 ulp of std::erf, as the
// test checks) where it has it, std::erf elsewhere.
void erf_f32(const float* x, float* y, int64_t n);

// True when no element of x[0, n) is NaN or infinite.
bool all_finite_f32(const float* x, int64_t n);

void relu_f32(const float* x, float* y, int64_t n);
void clip_f32(const float* x, float* y, int64_t n, float lo, float hi);

// Activations with a fast path: kRelu, kLeakyRelu, kHardSigmoid, kHardSwish, kSigmoid.
bool activation_supported(ref::Activation kind);
// Requires activation_supported(p.kind).
void activation_f32(const ref::ActivationParams& p, const float* x, float* y, int64_t n);

// ---- implementation of the template ------------------------------------------------------
namespace detail {
// Runs body(t) for t in [0, threads) on OpenMP threads (threads <= omp_get_max_threads()).
void run_threads(int threads, void (*body)(void*, int), void* ctx);
}  // namespace detail

template <typename F>
void parallel_chunks(int64_t n, int64_t min_per_thread, F&& f) {
  const int t = chunk_threads(n, min_per_thread);
  if (t <= 1) {
    if (n > 0) f(int64_t{0}, n);
    return;
  }
  struct Ctx {
    F* f;
    int64_t n;
    int t;
  } ctx{&f, n, t};
  detail::run_threads(
      t,
      [](void* c, int i) {
        const Ctx& k = *static_cast<Ctx*>(c);
        const int64_t b = k.n * i / k.t, e = k.n * (i + 1) / k.t;
        if (e > b) (*k.f)(b, e);
      },
      &ctx);
}

}  // namespace qs::kernels::fast
