#include "kernels/reference/conv_int8.h"

#include <array>
#include <cstddef>
#include <vector>

#include "kernels/reference/int8.h"

namespace qs::kernels::ref {
namespace {

int64_t product(const std::vector<int64_t>& v) {
  int64_t n = 1;
  for (int64_t x : v) n *= x;
  return n;
}

}  // namespace

int64_t conv_int8_reduction(const ConvParams& p) { return p.in_channels / p.group * product(p.kernel); }

// The accumulator is int32 as in the fast kernels; int8_reduction_fits() (checked by the op)
// bounds every partial sum below 2^31 in magnitude, so no sum overflows.
void conv_s8s8s32(const ConvParams& p, const int8_t* x, const int8_t* w, int32_t* acc) {
  const ConvGeometry3 g = conv_geometry3(p);
  const int64_t icg = p.in_channels / p.group, ocg = p.out_channels / p.group;
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_plane = g.k[0] * g.k[1] * g.k[2];
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oc = 0; oc < p.out_channels; ++oc) {
      const int64_t grp = oc / ocg;
      int32_t* yc = acc + (n * p.out_channels + oc) * out_plane;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int32_t sum = 0;
            for (int64_t ic = 0; ic < icg; ++ic) {
              const int8_t* xc = x + (n * p.in_channels + grp * icg + ic) * in_plane;
              const int8_t* wc = w + (oc * icg + ic) * k_plane;
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t iw = ow * g.s[2] - g.pb[2] + kw * g.d[2];
                    if (iw < 0 || iw >= g.in[2]) continue;
                    sum += int32_t{xc[(id * g.in[1] + ih) * g.in[2] + iw]} * int32_t{wc[(kd * g.k[1] + kh) * g.k[2] + kw]};
                  }
                }
              }
            }
            yc[(od * g.out[1] + oh) * g.out[2] + ow] = sum;
          }
    }
}

// A gather, like conv_transpose_f32: each output sums the inputs that reach it.
void conv_transpose_s8s8s32(const ConvParams& p, const int8_t* x, const int8_t* w, int32_t* acc) {
  const ConvGeometry3 g = conv_geometry3(p);
  const int64_t icg = p.in_channels / p.group, ocg = p.out_channels / p.group;
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_plane = g.k[0] * g.k[1] * g.k[2];
  // Input index that output o reaches through kernel tap k along one axis, or -1.
  auto source = [&](int axis, int64_t o, int64_t k) -> int64_t {
    const int64_t t = o + g.pb[axis] - k * g.d[axis];
    if (t < 0 || t % g.s[axis] != 0) return -1;
    const int64_t i = t / g.s[axis];
    return i < g.in[axis] ? i : -1;
  };
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oc = 0; oc < p.out_channels; ++oc) {
      const int64_t grp = oc / ocg, oc_in_group = oc % ocg;
      int32_t* yc = acc + (n * p.out_channels + oc) * out_plane;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            int32_t sum = 0;
            for (int64_t ic = 0; ic < icg; ++ic) {
              const int64_t cin = grp * icg + ic;
              const int8_t* xc = x + (n * p.in_channels + cin) * in_plane;
              const int8_t* wc = w + (cin * ocg + oc_in_group) * k_plane;
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = source(0, od, kd);
                if (id < 0) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t ih = source(1, oh, kh);
                  if (ih < 0) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t iw = source(2, ow, kw);
                    if (iw < 0) continue;
                    sum += int32_t{xc[(id * g.in[1] + ih) * g.in[2] + iw]} * int32_t{wc[(kd * g.k[1] + kh) * g.k[2] + kw]};
                  }
                }
              }
            }
            yc[(od * g.out[1] + oh) * g.out[2] + ow] = sum;
          }
    }
}

void quantize_conv_transpose_weights_s8(const ConvParams& p, const float* w, int8_t* q, float* scales) {
  // Group g's weights are the contiguous block [icg, ocg, kernel...], whose axis 1 is exactly
  // the group's output channels g*ocg .. g*ocg+ocg-1.
  const int64_t icg = p.in_channels / p.group, ocg = p.out_channels / p.group;
  std::vector<int64_t> shape{icg, ocg};
  shape.insert(shape.end(), p.kernel.begin(), p.kernel.end());
  const int64_t block = icg * ocg * product(p.kernel);
  for (int64_t g = 0; g < p.group; ++g) quantize_weights_s8(w + g * block, shape, 1, q + g * block, scales + g * ocg);
}

}  // namespace qs::kernels::ref
