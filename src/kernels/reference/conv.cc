#include "kernels/reference/conv.h"

#include <array>
#include <cstddef>

namespace qs::kernels::ref {

ConvGeometry3 conv_geometry3(const ConvParams& p) {
  ConvGeometry3 g;
  const size_t off = 3 - p.in_size.size();
  for (size_t i = 0; i < p.in_size.size(); ++i) {
    g.in[off + i] = p.in_size[i];
    g.out[off + i] = p.out_size[i];
    g.k[off + i] = p.kernel[i];
    g.s[off + i] = p.stride[i];
    g.d[off + i] = p.dilation[i];
    g.pb[off + i] = p.pad_begin[i];
  }
  return g;
}

void conv_f32(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
  const ConvGeometry3 g = conv_geometry3(p);
  const int64_t icg = p.in_channels / p.group, ocg = p.out_channels / p.group;
  const int64_t in_plane = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_plane = g.out[0] * g.out[1] * g.out[2];
  const int64_t k_plane = g.k[0] * g.k[1] * g.k[2];
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oc = 0; oc < p.out_channels; ++oc) {
      const int64_t grp = oc / ocg;
      float* yc = y + (n * p.out_channels + oc) * out_plane;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            // double accumulation keeps the oracle well below float32 rounding noise
            double acc = b ? b[oc] : 0.0;
            for (int64_t ic = 0; ic < icg; ++ic) {
              const float* xc = x + (n * p.in_channels + grp * icg + ic) * in_plane;
              const float* wc = w + (oc * icg + ic) * k_plane;
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = od * g.s[0] - g.pb[0] + kd * g.d[0];
                if (id < 0 || id >= g.in[0]) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t ih = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                  if (ih < 0 || ih >= g.in[1]) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t iw = ow * g.s[2] - g.pb[2] + kw * g.d[2];
                    if (iw < 0 || iw >= g.in[2]) continue;
                    acc += static_cast<double>(xc[(id * g.in[1] + ih) * g.in[2] + iw]) *
                           wc[(kd * g.k[1] + kh) * g.k[2] + kw];
                  }
                }
              }
            }
            yc[(od * g.out[1] + oh) * g.out[2] + ow] = static_cast<float>(acc);
          }
    }
}

// Written as a gather (each output sums the inputs that reach it) rather than the usual
// scatter, so that every output is accumulated in one double like conv_f32.
void conv_transpose_f32(const ConvParams& p, const float* x, const float* w, const float* b, float* y) {
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
      float* yc = y + (n * p.out_channels + oc) * out_plane;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < g.out[1]; ++oh)
          for (int64_t ow = 0; ow < g.out[2]; ++ow) {
            double acc = b ? b[oc] : 0.0;
            for (int64_t ic = 0; ic < icg; ++ic) {
              const int64_t cin = grp * icg + ic;
              const float* xc = x + (n * p.in_channels + cin) * in_plane;
              const float* wc = w + (cin * ocg + oc_in_group) * k_plane;
              for (int64_t kd = 0; kd < g.k[0]; ++kd) {
                const int64_t id = source(0, od, kd);
                if (id < 0) continue;
                for (int64_t kh = 0; kh < g.k[1]; ++kh) {
                  const int64_t ih = source(1, oh, kh);
                  if (ih < 0) continue;
                  for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                    const int64_t iw = source(2, ow, kw);
                    if (iw < 0) continue;
                    acc += static_cast<double>(xc[(id * g.in[1] + ih) * g.in[2] + iw]) *
                           wc[(kd * g.k[1] + kh) * g.k[2] + kw];
                  }
                }
              }
            }
            yc[(od * g.out[1] + oh) * g.out[2] + ow] = static_cast<float>(acc);
          }
    }
}

}  // namespace qs::kernels::ref
