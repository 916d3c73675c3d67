// Tensor shapes and checked size arithmetic.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace qs {

using Shape = std::vector<int64_t>;

// Largest number of bytes one tensor may hold; guards against dimensions that would
// overflow or exhaust memory. Settable (for example from a --max-tensor-bytes flag).
int64_t max_tensor_bytes();
void set_max_tensor_bytes(int64_t bytes);

// Product of dims, checked: every dim >= 0, no int64 overflow, and the byte size
// (numel * element_size) within max_tensor_bytes().
Expected<int64_t> checked_numel(const Shape& shape, size_t element_size);
// Product of dims without checks, for shapes already validated.
int64_t numel(const Shape& shape);
// "[1,3,224,224]"
std::string shape_str(const Shape& shape);
// Strides in elements of a dense row-major tensor.
std::vector<int64_t> dense_strides(const Shape& shape);
// Normalises a possibly negative axis into [0, rank); error if out of range.
Expected<int64_t> normalize_axis(int64_t axis, int64_t rank);

}  // namespace qs
