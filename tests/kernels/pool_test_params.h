// PoolParams helpers shared by the pooling kernel tests: a printable description of a case,
// float bits, and filling one spatial slot as the op layer does.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>

#include "kernels/reference/pool.h"

namespace qs::kernels::pool_test {

inline std::string describe(const ref::PoolParams& p) {
  std::ostringstream s;
  auto arr = [&](const char* name, const std::array<int64_t, 3>& a) {
    s << " " << name << "=" << a[0] << "x" << a[1] << "x" << a[2];
  };
  s << "batch=" << p.batch << " channels=" << p.channels << " rank=" << p.spatial_rank;
  arr("in", p.in);
  arr("out", p.out);
  arr("kernel", p.kernel);
  arr("stride", p.stride);
  arr("dilation", p.dilation);
  arr("pad_begin", p.pad_begin);
  arr("pad_end", p.pad_end);
  s << " count_include_pad=" << p.count_include_pad;
  return s.str();
}

inline uint32_t bits(float v) {
  uint32_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// One spatial slot of p, as the op layer fills it; false when the geometry is invalid (the op
// rejects pads as wide as the window, and a window must fit at least once).
inline bool set_dim(ref::PoolParams& p, int slot, int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pe,
                    bool ceil) {
  const int64_t extent = d * (k - 1) + 1;
  if (pb >= extent || pe >= extent) return false;
  const int64_t out = ref::pool_output_size(in, k, s, d, pb, pe, ceil);
  if (out < 1) return false;
  p.in[slot] = in;
  p.out[slot] = out;
  p.kernel[slot] = k;
  p.stride[slot] = s;
  p.dilation[slot] = d;
  p.pad_begin[slot] = pb;
  p.pad_end[slot] = pe;
  return true;
}

}  // namespace qs::kernels::pool_test
