#include "kernels/reference/einsum.h"

#include <cstddef>
#include <type_traits>

namespace qs::kernels::ref {

template <typename T>
void einsum(const EinsumParams& p, const std::vector<const T*>& inputs, T* y) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;  // unsigned: sums wrap
  const size_t labels = p.label_size.size();
  int64_t out_count = 1, sum_count = 1;
  for (size_t l = 0; l < labels; ++l) (static_cast<int64_t>(l) < p.output_labels ? out_count : sum_count) *= p.label_size[l];
  if (out_count == 0) return;
  std::vector<int64_t> idx(labels, 0);
  for (int64_t o = 0; o < out_count; ++o) {
    // idx[0, output_labels) holds output element o; the summed labels run from 0.
    int64_t rest = o;
    for (size_t l = static_cast<size_t>(p.output_labels); l-- > 0;) {
      idx[l] = rest % p.label_size[l];
      rest /= p.label_size[l];
    }
    for (size_t l = static_cast<size_t>(p.output_labels); l < labels; ++l) idx[l] = 0;
    Acc sum = 0;
    for (int64_t s = 0; s < sum_count; ++s) {
      Acc prod = 1;
      for (size_t i = 0; i < inputs.size(); ++i) {
        int64_t off = 0;
        for (size_t l = 0; l < labels; ++l) off += idx[l] * p.input_stride[i][l];
        prod = static_cast<Acc>(prod * static_cast<Acc>(inputs[i][off]));
      }
      sum = static_cast<Acc>(sum + prod);
      for (size_t l = labels; l-- > static_cast<size_t>(p.output_labels);) {  // next combination of summed labels
        if (++idx[l] < p.label_size[l]) break;
        idx[l] = 0;
      }
    }
    y[o] = static_cast<T>(sum);
  }
}

template void einsum<float>(const EinsumParams&, const std::vector<const float*>&, float*);
template void einsum<double>(const EinsumParams&, const std::vector<const double*>&, double*);
template void einsum<int32_t>(const EinsumParams&, const std::vector<const int32_t*>&, int32_t*);
template void einsum<int64_t>(const EinsumParams&, const std::vector<const int64_t*>&, int64_t*);

}  // namespace qs::kernels::ref
