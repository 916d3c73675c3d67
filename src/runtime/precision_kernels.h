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
// max_of_input: inner's output 0 is a maximum over elements of its one input (MaxPool,
// GlobalMaxPool). Quantize-dequantize is monotone and keeps no NaN, so for an input without
// NaN (Tensor::known_finite) max(qdq(x)) = qdq(max(x)), and the kernel quantizes the output,
// a fraction of the input, in place (a pool's window always holds an input element).
std::unique_ptr<ops::Kernel> make_fake_quant_kernel(std::unique_ptr<ops::Kernel> inner, std::vector<float> scales,
                                                    bool max_of_input = false);

// The constant float inputs among the planned inputs rounded to half precision, index for index
// (undefined tensors elsewhere). The planner prepares an FP16 layer's kernel with these in
// place of the constants (so that a kernel which copies its weights at plan time copies the
// rounded ones), then hands them to make_fp16_kernel, which keeps them alive.
std::vector<Tensor> round_constants_to_half(const std::vector<ops::TensorInfo>& inputs);

// rounded_constants: round_constants_to_half's result for inner's inputs.
std::unique_ptr<ops::Kernel> make_fp16_kernel(std::unique_ptr<ops::Kernel> inner, std::vector<Tensor> rounded_constants);

}  // namespace qs::runtime
