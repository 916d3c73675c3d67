#include "kernels/fast/onednn_common.h"

#include <algorithm>
#include <cstdint>
#include <memory>

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

}  // namespace qs::kernels::fast
