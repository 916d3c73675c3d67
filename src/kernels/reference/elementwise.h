// Reference element-wise kernels: numpy-broadcast binary arithmetic, comparisons, logic,
// Where, unary math and Cast. Plain loops, but laid out so the innermost loop always runs
// over contiguous data: these kernels run inside full networks.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"

namespace qs::kernels::ref {

// How up to three inputs map onto one output under numpy broadcasting. Built once at plan
// time: dims of size 1 are dropped and neighbouring dims that every input either spans
// or broadcasts alike are merged, so equal shapes become one flat run and a per-channel
// [C,1,1] operand becomes [N, C, H*W] with strides {.., 1, 0}.
struct BroadcastParams {
  int num_inputs = 0;
  std::vector<int64_t> dims;                          // collapsed output dims (never empty)
  std::array<std::vector<int64_t>, 3> strides;        // per input, in elements; 0 = broadcast
  int64_t numel = 0;                                  // output element count
};

// Input shapes must broadcast to `out` (the op checked that); up to three inputs.
BroadcastParams make_broadcast(const Shape& out, const std::vector<Shape>& inputs);

// Calls row(offsets, n) for each contiguous output run: offsets[k] is input k's element
// offset at the run's start and, within the run, input k advances by inner_stride(k)
// (0 or 1). The output offset is implied: runs are visited in order.
template <typename Row>
void for_each_run(const BroadcastParams& p, Row&& row) {
  const size_t r = p.dims.size();
  const int64_t inner = p.dims[r - 1];
  if (inner == 0 || p.numel == 0) return;
  std::array<int64_t, 3> off{0, 0, 0};
  std::vector<int64_t> idx(r, 0);
  for (int64_t done = 0; done < p.numel; done += inner) {
    row(off, done, inner);
    // Advance the outer counter (dims 0..r-2), odometer style.
    for (size_t d = r - 1; d-- > 0;) {
      for (int k = 0; k < p.num_inputs; ++k) off[k] += p.strides[k][d];
      if (++idx[d] < p.dims[d]) break;
      for (int k = 0; k < p.num_inputs; ++k) off[k] -= p.strides[k][d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

inline int64_t inner_stride(const BroadcastParams& p, int k) { return p.strides[k].back(); }

// y = f(a, b) under broadcasting; the inner loop is specialised for the contiguous and
// scalar-operand cases so it vectorises.
template <typename A, typename B, typename Y, typename F>
void broadcast_binary(const BroadcastParams& p, const A* a, const B* b, Y* y, F f) {
  const int64_t sa = inner_stride(p, 0), sb = inner_stride(p, 1);
  for_each_run(p, [&](const std::array<int64_t, 3>& off, int64_t out, int64_t n) {
    const A* pa = a + off[0];
    const B* pb = b + off[1];
    Y* py = y + out;
    if (sa == 1 && sb == 1) {
      for (int64_t i = 0; i < n; ++i) py[i] = f(pa[i], pb[i]);
    } else if (sa == 1) {
      const B vb = pb[0];
      for (int64_t i = 0; i < n; ++i) py[i] = f(pa[i], vb);
    } else if (sb == 1) {
      const A va = pa[0];
      for (int64_t i = 0; i < n; ++i) py[i] = f(va, pb[i]);
    } else {
      const Y v = f(pa[0], pb[0]);
      for (int64_t i = 0; i < n; ++i) py[i] = v;
    }
  });
}

// ---- Binary arithmetic ------------------------------------------------------------------
// Integers wrap on overflow; integer Div truncates toward zero like C, and x/0 gives 0
// (data decides it at run time, and a kernel must not trap).
enum class BinaryOp { kAdd, kSub, kMul, kDiv, kMax, kMin };

// T: float, double, int8/16/32/64, uint8/16/32/64. Max/Min propagate NaN like numpy.
template <typename T>
void binary(BinaryOp op, const BroadcastParams& p, const T* a, const T* b, T* y);
// float16 stored as IEEE half bits; computed in float and rounded back.
void binary_f16(BinaryOp op, const BroadcastParams& p, const uint16_t* a, const uint16_t* b, uint16_t* y);

// Pow: base type TB (float, double, int32, int64), exponent type TE (any numeric but
// float16). Integer base with integer exponent is exact (wrapping); negative integer
// exponents give the truncated result (0 unless the base is 1 or -1).
template <typename TB, typename TE>
void pow(const BroadcastParams& p, const TB* base, const TE* exponent, TB* y);
// Mod: integers take the divisor's sign (Python's %), or the dividend's with fmod (C's %);
// floats only with fmod (std::fmod). A zero divisor gives 0 for integers. T: the binary types.
template <typename T>
void mod(const BroadcastParams& p, const T* a, const T* b, T* y, bool fmod);
void mod_f16(const BroadcastParams& p, const uint16_t* a, const uint16_t* b, uint16_t* y);

// ---- Comparisons and logic (bool results stored one byte each, 0 or 1) -------------------
enum class CompareOp { kEqual, kLess, kGreater, kLessOrEqual, kGreaterOrEqual };
// T: float, double, int8/16/32/64, uint8/16/32/64 (bool tensors compare as their uint8_t bytes).
template <typename T>
void compare(CompareOp op, const BroadcastParams& p, const T* a, const T* b, bool* y);

enum class LogicOp { kAnd, kOr, kXor };
// Inputs are bool tensors read as bytes: any non-zero byte counts as true.
void logic(LogicOp op, const BroadcastParams& p, const uint8_t* a, const uint8_t* b, bool* y);
void logical_not(const uint8_t* x, bool* y, int64_t n);
// IsNaN; IsInf with the signs it detects. T: float, double.
template <typename T>
void is_nan(const T* x, bool* y, int64_t n);
template <typename T>
void is_inf(const T* x, bool* y, int64_t n, bool negative, bool positive);

// Where(cond, x, y) for any element type, selected by its size in bytes (1, 2, 4 or 8).
void where(const BroadcastParams& p, const uint8_t* cond, const void* x, const void* y, void* out,
           size_t element_size);

// ---- Unary math -------------------------------------------------------------------------
enum class UnaryOp {
  kSqrt, kExp, kLog, kErf, kAbs, kNeg, kReciprocal, kFloor, kCeil, kRound, kSign, kSin, kCos,
  kTan, kAsin, kAcos, kAtan, kSinh, kCosh, kAsinh, kAcosh, kAtanh,
};
// float and double: every op. Round is half-to-even.
template <typename T>
void unary(UnaryOp op, const T* x, T* y, int64_t n);
// Integers (int8/16/32/64): Abs, Neg and Sign only (wrapping: Abs/Neg of the minimum is the minimum).
template <typename T>
void unary_int(UnaryOp op, const T* x, T* y, int64_t n);

// ---- Variadic helpers -------------------------------------------------------------------
// y (already of the output shape) = x broadcast; used to seed Sum/Mean/Max/Min.
void broadcast_copy(const BroadcastParams& p, const void* x, void* y, size_t element_size);
// y *= scale, for Mean.
template <typename T>
void scale(T* y, int64_t n, double factor);
void scale_f16(uint16_t* y, int64_t n, double factor);

// ---- Cast -------------------------------------------------------------------------------
// Between float32, float16, float64, int8, uint8, int16, int32, int64 and bool. Floats to
// integers truncate toward zero and saturate (NaN -> 0): ONNX leaves out-of-range
// results undefined and C++ would make them undefined behaviour. Integers narrow by
// wrapping; to bool is "non-zero" (NaN counts as true, as in numpy).
bool cast_supported(DType t);
void cast(DType from, const void* x, DType to, void* y, int64_t n);

}  // namespace qs::kernels::ref
