// Reference pooling kernels (MaxPool, AveragePool, LpPool, global pools) on NC<spatial>
// tensors: plain loops, the oracle.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

// Window geometry of a 1-D, 2-D or 3-D pool. The op layer stores fewer spatial dims
// right-aligned in the 3 slots and fills the leading unused ones with size 1, kernel 1,
// stride 1, dilation 1, no padding, so one loop nest serves every rank.
struct PoolParams {
  int64_t batch = 1;
  int64_t channels = 1;
  int spatial_rank = 2;                      // 1..3: how many of the slots are real
  std::array<int64_t, 3> in{1, 1, 1};        // input spatial dims
  std::array<int64_t, 3> out{1, 1, 1};       // output spatial dims
  std::array<int64_t, 3> kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> dilation{1, 1, 1};
  std::array<int64_t, 3> pad_begin{0, 0, 0};
  std::array<int64_t, 3> pad_end{0, 0, 0};
  bool count_include_pad = false;  // AveragePool: divide by taps inside the padded input, not the real input
  int64_t p = 2;                   // LpPool exponent
};

// Output spatial size of one dim, as ONNX defines it with explicit pads; ceil_mode drops a
// last window that would start in the right padding. The caller checks the result is >= 1.
int64_t pool_output_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad_begin,
                         int64_t pad_end, bool ceil_mode);

// Max over the window taps that fall inside the input. indices (nullable) receives the
// flat index of the maximum in the whole input tensor; column_major_indices selects
// ONNX storage_order=1 (spatial dims counted column-major). A window with no tap inside
// the input yields the lowest value and index -1.
void max_pool_f32(const PoolParams& p, const float* x, float* y, int64_t* indices, bool column_major_indices);
void max_pool_f64(const PoolParams& p, const double* x, double* y, int64_t* indices, bool column_major_indices);
void max_pool_i8(const PoolParams& p, const int8_t* x, int8_t* y, int64_t* indices, bool column_major_indices);
void max_pool_u8(const PoolParams& p, const uint8_t* x, uint8_t* y, int64_t* indices, bool column_major_indices);

void avg_pool_f32(const PoolParams& p, const float* x, float* y);
// (sum |x|^p)^(1/p) over the taps inside the input (padding contributes 0).
void lp_pool_f32(const PoolParams& p, const float* x, float* y);

// One value per (n, c) plane of `spatial` contiguous elements.
void global_avg_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y);
void global_max_pool_f32(int64_t planes, int64_t spatial, const float* x, float* y);
void global_lp_pool_f32(int64_t planes, int64_t spatial, int64_t p, const float* x, float* y);

// MaxUnpool: y zero, then x[k] goes to where indices[k] (a flat index into a tensor of
// pooled_shape, the shape pooling started from) points; y_shape may be larger (an explicit
// output_shape), keeping each value at its coordinates. Indices outside are skipped (they cannot
// be rejected at run time).
void max_unpool_f32(const float* x, const int64_t* indices, int64_t n_x, const std::vector<int64_t>& pooled_shape,
                    const std::vector<int64_t>& y_shape, float* y);

}  // namespace qs::kernels::ref
