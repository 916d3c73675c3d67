// Kernels that give any op's kernel a precision (INT8.md items 2, 5, 19): an INT8 layer
// without integer kernels reads each INT8 input through quantize-dequantize with that
// tensor's scale (DQ -> op, exactly what a Q/DQ model computes); an FP16 layer reads inputs
// rounded to half precision and rounds its outputs to half precision.
#pragma once
#include <memory>
#include <vector>

#include "ops/op.h"

namespace qs::runtime {

// scales[i] > 0: input i is read in INT8 with that scale.
std::unique_ptr<ops::Kernel> make_fake_quant_kernel(std::unique_ptr<ops::Kernel> inner, std::vector<float> scales);

// inputs: the planned inputs; constant float inputs are rounded once, here.
std::unique_ptr<ops::Kernel> make_fp16_kernel(std::unique_ptr<ops::Kernel> inner, const std::vector<ops::TensorInfo>& inputs);

}  // namespace qs::runtime
