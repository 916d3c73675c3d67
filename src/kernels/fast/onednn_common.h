// What every oneDNN kernel shares: the CPU engine, a stream per thread, and per-thread
// buffers. Internal to src/kernels/fast: other modules never see oneDNN types.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/reference/conv.h"
#include "kernels/reference/gemm.h"

namespace qs::kernels::fast {

dnnl::engine& cpu_engine();
// A stream per thread: executing on one stream from several threads at once is not allowed.
dnnl::stream& cpu_stream();

// Per-thread, 64-byte aligned buffers, grown on demand and then reused by every run on the
// thread, so that warm runs allocate nothing and several threads can run kernels at once.
// kGatheredInput: a strided 1x1 convolution's input pixels, gathered to unit stride.
enum class ThreadBuffer { kScratchpad, kBlockedInput, kBlockedOutput, kGatheredInput };
void* thread_buffer(ThreadBuffer which, size_t bytes);

// The thread's scratchpad wrapped for a primitive. oneDNN's own (library-managed) scratchpad
// is shared process-wide in this build, which corrupts concurrent runs, so every primitive
// takes a user scratchpad (dnnl::scratchpad_mode::user). The primitives of one run execute one
// after another on the thread's in-order stream, so they can share it.
dnnl::memory scratchpad(const dnnl::memory::desc& md);

// Runs prim on the thread's stream with its arguments (and the thread's scratchpad of
// scratch_md), keeping the dnnl::memory objects and the argument map per thread and `id` between
// runs: a run only points them at this run's buffers. Creating them each run cost about as much
// as a 64 x 64 x 64 product. id: unique to the primitive and its descriptors (new_exec_id()).
struct ExecArg {
  int arg;                               // DNNL_ARG_*
  const dnnl::memory::desc* md;          // must stay the same for an id
  void* data;                            // this run's buffer
  const dnnl::memory* fixed = nullptr;   // or a memory object that stays the same (constants; not kept alive)
};
void execute_reusing_args(uint64_t id, const dnnl::primitive& prim, std::span<const ExecArg> args,
                          const dnnl::memory::desc& scratch_md);
uint64_t new_exec_id();

// Constant weights at `data` (laid out as `from`) reordered into `to`, one copy shared by every
// kernel that asks for the same values in the same two layouts: a sweep builds a layer's kernel
// again for each layout its neighbours give it (channels-last or not, post-ops, Winograd), and
// oneDNN picks the same weight layout for most of them. Found by the content of the weights
// (XXH3 of from.get_size() bytes) and both descriptors; the copy lives while a kernel holds it.
std::shared_ptr<const dnnl::memory> shared_reordered_constant(const void* data, const dnnl::memory::desc& from,
                                                              const dnnl::memory::desc& to);

// A 1-D convolution as the 2-D one of a single row (height, filter height and stride 1, no
// padding above or below); other ranks unchanged. The tensors keep their memory: [N, C, W] is
// [N, C, 1, W], channels-last [N, W, C] is [N, 1, W, C], and the weights [OC, C / group, K] are
// [OC, C / group, 1, K]. oneDNN's float kernels for 1-D depthwise layers are im2col + GEMM,
// group by group: 2.4 ms where its 2-D kernel takes 0.07-0.1 (256 channels of 400 samples under
// a filter of 33, one thread). Its int8 ones have a 1-D depthwise kernel of their own.
ref::ConvParams conv_as_2d(const ref::ConvParams& p);

// The plain row-major (abc...) format of a tensor of this rank.
dnnl::memory::format_tag plain_tag(size_t rank);

// How a MatMul's batches map onto oneDNN: one tall product when A is dense and B is shared by
// every batch, one batched product when both are dense, otherwise a loop over the batches.
enum class MatMulLayout { kFlatten, kBatched, kLoop };
MatMulLayout matmul_layout(const ref::MatMulParams& p);

}  // namespace qs::kernels::fast
