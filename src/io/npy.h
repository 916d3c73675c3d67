// NumPy .npy read and write (version 1.0-3.0 headers, C order, little-endian).
#pragma once
#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace qs::io {

Expected<Tensor> read_npy(const std::string& path);
// Written to a temporary name and renamed into place.
Status write_npy(const std::string& path, const Tensor& t);

}  // namespace qs::io
