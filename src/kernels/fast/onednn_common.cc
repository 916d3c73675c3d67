#include "kernels/fast/onednn_common.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/hash.h"

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
  thread_local Buffer buffers[4];
  Buffer& b = buffers[static_cast<int>(which)];
  constexpr size_t kAlign = 64;
  if (b.size < bytes) {
    b.data = std::make_unique<std::byte[]>(bytes + kAlign);
    b.size = bytes;
  }
  const auto addr = reinterpret_cast<uintptr_t>(b.data.get());
  return b.data.get() + (kAlign - addr % kAlign) % kAlign;
}

std::shared_ptr<const dnnl::memory> shared_reordered_constant(const void* data, const dnnl::memory::desc& from,
                                                              const dnnl::memory::desc& to) {
  struct Entry {
    dnnl::memory::desc from, to;
    std::weak_ptr<const dnnl::memory> copy;
  };
  static std::mutex mu;
  static auto* entries = new std::unordered_multimap<uint64_t, Entry>;  // never destroyed, as kernels may outlive statics
  const uint64_t key = hash_bytes(data, from.get_size());
  {
    std::lock_guard<std::mutex> lock(mu);
    auto [b, e] = entries->equal_range(key);
    for (auto it = b; it != e; ++it)
      if (it->second.from == from && it->second.to == to)
        if (auto copy = it->second.copy.lock()) return copy;
  }
  auto& eng = cpu_engine();
  dnnl::memory src(from, eng, const_cast<void*>(data));
  auto copy = std::make_shared<dnnl::memory>(to, eng);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  dnnl::reorder::primitive_desc pd(eng, from, eng, to, attr);
  dnnl::reorder(pd).execute(cpu_stream(), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, *copy},
                                           {DNNL_ARG_SCRATCHPAD, scratchpad(pd.scratchpad_desc())}});
  cpu_stream().wait();
  std::lock_guard<std::mutex> lock(mu);
  // Entries whose copies every kernel has let go of are dropped as the table grows.
  static size_t prune_at = 64;
  if (entries->size() >= prune_at) {
    std::erase_if(*entries, [](const auto& kv) { return kv.second.copy.expired(); });
    prune_at = std::max<size_t>(64, 2 * entries->size());
  }
  entries->emplace(key, Entry{from, to, copy});
  return copy;
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

ref::ConvParams conv_as_2d(const ref::ConvParams& p) {
  if (p.in_size.size() != 1) return p;
  ref::ConvParams q = p;
  q.in_size.insert(q.in_size.begin(), 1);
  q.out_size.insert(q.out_size.begin(), 1);
  q.kernel.insert(q.kernel.begin(), 1);
  q.stride.insert(q.stride.begin(), 1);
  q.dilation.insert(q.dilation.begin(), 1);
  q.pad_begin.insert(q.pad_begin.begin(), 0);
  q.pad_end.insert(q.pad_end.begin(), 0);
  return q;
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
