// NCHW <-> NHWC by plain loops: the oracle that the channels-last kernels and their tests are
// checked against. [n, c, hw] <-> [n, hw, c], any element type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace qs::kernels::naive {

template <typename T>
std::vector<T> to_nhwc(int64_t n, int64_t c, int64_t hw, const std::vector<T>& x) {
  std::vector<T> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p)
        y[static_cast<std::size_t>((b * hw + p) * c + ch)] = x[static_cast<std::size_t>((b * c + ch) * hw + p)];
  return y;
}

template <typename T>
std::vector<T> to_nchw(int64_t n, int64_t c, int64_t hw, const std::vector<T>& x) {
  std::vector<T> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p)
        y[static_cast<std::size_t>((b * c + ch) * hw + p)] = x[static_cast<std::size_t>((b * hw + p) * c + ch)];
  return y;
}

}  // namespace qs::kernels::naive
