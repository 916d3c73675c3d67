// Reference Einsum: any equation ONNX allows (implicit output, repeated labels for diagonals,
// ellipsis with broadcasting), as a loop over every combination of label values. Plain loops,
// the oracle.
#pragma once
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

// Labels are numbered 0..labels-1: the output's first (in its order), then the summed ones.
struct EinsumParams {
  std::vector<int64_t> label_size;                 // per label
  std::vector<std::vector<int64_t>> input_stride;  // per input, per label: the step in elements (0: absent or broadcast)
  int64_t output_labels = 0;                       // labels [0, output_labels) are the output's axes, in order
};

// T: float, double (sums in double), int32, int64 (sums wrap).
template <typename T>
void einsum(const EinsumParams& p, const std::vector<const T*>& inputs, T* y);

}  // namespace qs::kernels::ref
