#include "kernels/fast/onednn_common.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>

namespace qs::kernels::fast {

dnnl::engine& cpu_engine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream s(cpu_engine());
  return s;
}

void* thread_buffer(ThreadBuffer which, size_t bytes) {
  struct Buffer {
    std::unique_ptr<std::byte[]> data;
    size_t size = 0;
  };
  thread_local Buffer buffers[3];
  Buffer& b = buffers[static_cast<int>(which)];
  constexpr size_t kAlign = 64;
  if (b.size < bytes) {
    b.data = std::make_unique<std::byte[]>(bytes + kAlign);
    b.size = bytes;
  }
  const auto addr = reinterpret_cast<uintptr_t>(b.data.get());
  return b.data.get() + (kAlign - addr % kAlign) % kAlign;
}

dnnl::memory scratchpad(const dnnl::memory::desc& md) {
  return dnnl::memory(md, cpu_engine(), thread_buffer(ThreadBuffer::kScratchpad, std::max<size_t>(md.get_size(), 1)));
}

uint64_t new_exec_id() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

void execute_reusing_args(uint64_t id, const dnnl::primitive& prim, std::span<const ExecArg> args,
                          const dnnl::memory::desc& scratch_md) {
  // Per thread: the argument map of each primitive run on it. Kernels come and go (a sweep
  // builds thousands), so the table is emptied when it grows large rather than tracked.
  thread_local std::unordered_map<uint64_t, std::unordered_map<int, dnnl::memory>> table;
  auto it = table.find(id);
  if (it == table.end()) {
    if (table.size() >= 512) table.clear();
    it = table.emplace(id, std::unordered_map<int, dnnl::memory>{}).first;
  }
  std::unordered_map<int, dnnl::memory>& map = it->second;
  auto bind = [&](int arg, const dnnl::memory::desc& md, void* data) {
    auto m = map.find(arg);
    if (m == map.end()) {
      map.emplace(arg, dnnl::memory(md, cpu_engine(), data));
    } else if (m->second.get_data_handle() != data) {
      m->second.set_data_handle(data);
    }
  };
  for (const ExecArg& a : args) {
    if (!a.fixed) bind(a.arg, *a.md, a.data);
    // A view of the fixed object's buffer, not a copy of the handle: the table must not keep a
    // kernel's constants (its weights) alive after the kernel is gone.
    else if (!map.count(a.arg)) map.emplace(a.arg, dnnl::memory(a.fixed->get_desc(), cpu_engine(), a.fixed->get_data_handle()));
  }
  bind(DNNL_ARG_SCRATCHPAD, scratch_md, thread_buffer(ThreadBuffer::kScratchpad, std::max<size_t>(scratch_md.get_size(), 1)));
  prim.execute(cpu_stream(), map);
}

dnnl::memory::format_tag plain_tag(size_t rank) {
  using tag = dnnl::memory::format_tag;
  switch (rank) {
    case 1: return tag::a;
    case 2: return tag::ab;
    case 3: return tag::abc;
    case 4: return tag::abcd;
    case 5: return tag::abcde;
    default: return tag::abcdef;
  }
}

MatMulLayout matmul_layout(const ref::MatMulParams& p) {
  bool a_dense = true, b_shared = true, b_dense = true;
  for (int64_t i = 0; i < p.batch; ++i) {
    const size_t u = static_cast<size_t>(i);
    a_dense = a_dense && p.a_offset[u] == i * p.M * p.K;
    b_shared = b_shared && p.b_offset[u] == p.b_offset[0];
    b_dense = b_dense && p.b_offset[u] == i * p.K * p.N;
  }
  if (a_dense && b_shared) return MatMulLayout::kFlatten;
  return a_dense && b_dense ? MatMulLayout::kBatched : MatMulLayout::kLoop;
}

}  // namespace qs::kernels::fast
