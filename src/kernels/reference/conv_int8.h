// Reference INT8 Conv and ConvTranspose: int8 x int8 products summed in an int32 accumulator,
// no bias (the float epilogue in int8.h adds it). Plain loops, the oracle that the oneDNN INT8
// kernels must match exactly (integer arithmetic is exact).
#pragma once
#include <cstdint>

#include "kernels/reference/conv.h"

namespace qs::kernels::ref {

// Length of the dot product behind one output (in_channels/group * prod(kernel)); the op must
// check int8_reduction_fits() on it (int8.h) so that the int32 accumulator cannot overflow.
// For ConvTranspose an output sums at most this many products too.
int64_t conv_int8_reduction(const ConvParams& p);

// Same buffers and geometry as conv_f32 / conv_transpose_f32 (conv.h), with x and w int8
// and acc [batch, out_channels, out_size...] int32.
void conv_s8s8s32(const ConvParams& p, const int8_t* x, const int8_t* w, int32_t* acc);
void conv_transpose_s8s8s32(const ConvParams& p, const int8_t* x, const int8_t* w, int32_t* acc);

// ConvTranspose weights [in_channels, out_channels/group, kernel...] quantized per output
// channel: output channel oc = g * (out_channels/group) + j collects w[g*icg .. g*icg+icg-1][j],
// which is not one axis of the tensor when group > 1. scales has out_channels entries; the
// rules are those of quantize_weights_s8.
void quantize_conv_transpose_weights_s8(const ConvParams& p, const float* w, int8_t* q, float* scales);

}  // namespace qs::kernels::ref
