// Fast activation quantization, bit for bit ref::quantize_f32_s8 / ref::fake_quantize_f32
// (kernels/reference/int8.h): q = clamp(round_half_even(x / scale), -128, 127).
//
// Division is the slow part of the reference loop. Two ways around it:
// - by correction (CPUs with AVX-512 VNNI): the in-register kernels' exact quotient
//   (int8_avx512.h), the reciprocal's product corrected twice by fused multiply-adds into the
//   correctly rounded x / scale; split over OpenMP threads from 16k values a thread.
// - by reciprocal (any CPU): x * (1 / scale), within 2 units in the last place of the quotient,
//   so the rounded integer can differ only where the quotient lies next to a half-integer.
//   Every block of 256 values where a quotient comes within 2^-20 (relative) of a
//   half-integer is computed again with the division. Split over threads from 128k values.
// quantize_f32_s8 and fake_quantize_f32 take the first where the CPU and scale allow it.
#pragma once
#include <cstdint>

#include "kernels/reference/int8.h"

namespace qs::kernels::fast {

void quantize_f32_s8(const float* x, int8_t* q, int64_t n, float scale);
// y = quantize(x) * scale; x == y allowed.
void fake_quantize_f32(const float* x, float* y, int64_t n, float scale);

// Each way on its own, for tests and benchmarks. The correction's return false (output
// untouched) where the CPU lacks AVX-512 VNNI or the scale has no finite normal reciprocal.
bool quantize_f32_s8_by_correction(const float* x, int8_t* q, int64_t n, float scale);
bool fake_quantize_f32_by_correction(const float* x, float* y, int64_t n, float scale);
void quantize_f32_s8_by_reciprocal(const float* x, int8_t* q, int64_t n, float scale);
void fake_quantize_f32_by_reciprocal(const float* x, float* y, int64_t n, float scale);

// ref::float_epilogue and ref::dequantize_epilogue with the outer dim split over OpenMP
// threads; every element is computed as the reference computes it (the same bits).
void float_epilogue(const float* acc, int64_t outer, int64_t channels, int64_t inner, const float* bias,
                    const float* residual, const ref::Epilogue& e, float* y);
void dequantize_epilogue(const int32_t* acc, int64_t outer, int64_t channels, int64_t inner, float x_scale,
                         const float* w_scales, const float* bias, const float* residual, const ref::Epilogue& e,
                         float* y);

}  // namespace qs::kernels::fast
