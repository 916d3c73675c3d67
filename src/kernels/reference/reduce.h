// Reference reduction kernels: ReduceSum/Mean/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp
// over any set of axes, and ArgMax/ArgMin along one axis. Plain loops, the oracle.
#pragma once
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

struct ReduceParams {
  std::vector<int64_t> shape;  // input shape
  std::vector<bool> reduced;   // per input dim: reduce over it
  ReduceOp op = ReduceOp::kSum;
};

// y holds one value per kept position (the output shape is the input shape with reduced
// dims dropped or set to 1; the element order is the same). An empty reduction yields the
// op's identity: 0 for sums, 1 for Prod, -inf (lowest for integers) for Max, +inf for Min,
// NaN for float Mean and 0 for integer Mean.
// float32 and float64 accumulate in double, integers in int64 (cast back on store).
void reduce_f32(const ReduceParams& p, const float* x, float* y);
void reduce_f64(const ReduceParams& p, const double* x, double* y);
void reduce_i32(const ReduceParams& p, const int32_t* x, int32_t* y);
void reduce_i64(const ReduceParams& p, const int64_t* x, int64_t* y);
void reduce_i8(const ReduceParams& p, const int8_t* x, int8_t* y);
void reduce_u8(const ReduceParams& p, const uint8_t* x, uint8_t* y);

// x is [outer, n, inner], n >= 1; y is [outer, inner] of indices into n. Ties go to the
// first index, or the last with select_last_index.
struct ArgReduceParams {
  int64_t outer = 1, n = 1, inner = 1;
  bool is_max = true;
  bool select_last_index = false;
};
void arg_reduce_f32(const ArgReduceParams& p, const float* x, int64_t* y);
void arg_reduce_f64(const ArgReduceParams& p, const double* x, int64_t* y);
void arg_reduce_i32(const ArgReduceParams& p, const int32_t* x, int64_t* y);
void arg_reduce_i64(const ArgReduceParams& p, const int64_t* x, int64_t* y);
void arg_reduce_i8(const ArgReduceParams& p, const int8_t* x, int64_t* y);
void arg_reduce_u8(const ArgReduceParams& p, const uint8_t* x, int64_t* y);

// TopK: x is [outer, n, inner]; values and indices are [outer, k, inner], the k largest (or
// smallest) along n in that order, equal values by their index (lower first). T: float, double,
// int32, int64.
struct TopKParams {
  int64_t outer = 1, n = 1, inner = 1, k = 1;
  bool largest = true;
};
template <typename T>
void top_k(const TopKParams& p, const T* x, T* values, int64_t* indices);

// CumSum along n of x [outer, n, inner]: y[j] = x[0] + ... + x[j] (exclusive: up to x[j - 1];
// reverse: from the end). T: float, double, int32, int64.
struct CumSumParams {
  int64_t outer = 1, n = 1, inner = 1;
  bool exclusive = false, reverse = false;
};
template <typename T>
void cumsum(const CumSumParams& p, const T* x, T* y);

}  // namespace qs::kernels::ref
