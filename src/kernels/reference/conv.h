// Reference Conv and ConvTranspose kernels on float32: plain loops, the oracle that the
// oneDNN kernels are checked against.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

// One convolution, 1-D to 3-D (in_size.size() spatial dims). Tensors are dense row-major:
//   Conv:          x [batch, in_channels, in_size...], w [out_channels, in_channels/group, kernel...],
//                  y [batch, out_channels, out_size...]
//   ConvTranspose: x [batch, in_channels, in_size...], w [in_channels, out_channels/group, kernel...],
//                  y [batch, out_channels, out_size...]
// b is [out_channels] or nullptr. The op validates everything; the kernels assume
//   Conv:          out_size = (in_size + pad_begin + pad_end - ((kernel-1)*dilation+1)) / stride + 1
//   ConvTranspose: out_size = (in_size-1)*stride + (kernel-1)*dilation+1 - pad_begin - pad_end
//                  + output_padding
// For ConvTranspose pad_end here is ONNX's end pad minus output_padding (it may be negative);
// the reference kernel reads only pad_begin and out_size.
struct ConvParams {
  int64_t batch = 1;
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t group = 1;
  std::vector<int64_t> in_size;
  std::vector<int64_t> out_size;
  std::vector<int64_t> kernel;
  std::vector<int64_t> stride;
  std::vector<int64_t> dilation;
  std::vector<int64_t> pad_begin;
  std::vector<int64_t> pad_end;

  int64_t spatial_rank() const { return static_cast<int64_t>(in_size.size()); }
};

// 1-D and 2-D convolutions are 3-D ones with leading spatial dims of size 1, which keeps one
// loop nest for all ranks (the float and the int8 reference share it).
struct ConvGeometry3 {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0};
};
ConvGeometry3 conv_geometry3(const ConvParams& p);

void conv_f32(const ConvParams& p, const float* x, const float* w, const float* b, float* y);
void conv_transpose_f32(const ConvParams& p, const float* x, const float* w, const float* b, float* y);

}  // namespace qs::kernels::ref
