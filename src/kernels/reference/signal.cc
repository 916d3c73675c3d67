#include "kernels/reference/signal.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace qs::kernels::ref {
namespace {

// bins [0, bins) of the length-point DFT of (re, im)[0, n) (zero beyond n), into out (2 per bin).
void transform(const std::vector<double>& re, const std::vector<double>& im, int64_t n, int64_t length, int64_t bins,
               bool inverse, float* out, int64_t out_stride) {
  const double sign = inverse ? 1.0 : -1.0;
  const double scale = inverse ? 1.0 / static_cast<double>(length) : 1.0;
  const int64_t used = std::min(n, length);
  for (int64_t k = 0; k < bins; ++k) {
    double sr = 0, si = 0;
    for (int64_t t = 0; t < used; ++t) {
      // (k t) mod length keeps the angle small, and exact for large k t.
      const double angle = sign * 2 * std::numbers::pi * static_cast<double>((k * t) % length) / static_cast<double>(length);
      const double c = std::cos(angle), s = std::sin(angle);
      sr += re[static_cast<size_t>(t)] * c - im[static_cast<size_t>(t)] * s;
      si += re[static_cast<size_t>(t)] * s + im[static_cast<size_t>(t)] * c;
    }
    out[k * out_stride] = static_cast<float>(sr * scale);
    out[k * out_stride + 1] = static_cast<float>(si * scale);
  }
}

}  // namespace

void dft_f32(const DftParams& p, const float* x, float* y) {
  std::vector<double> re(static_cast<size_t>(p.length_in)), im(re.size());
  for (int64_t o = 0; o < p.outer; ++o)
    for (int64_t i = 0; i < p.inner; ++i) {
      for (int64_t t = 0; t < p.length_in; ++t) {
        const float* v = x + ((o * p.length_in + t) * p.inner + i) * p.components;
        re[static_cast<size_t>(t)] = v[0];
        im[static_cast<size_t>(t)] = p.components == 2 ? v[1] : 0.0;
      }
      transform(re, im, p.length_in, p.length, p.bins, p.inverse, y + (o * p.bins * p.inner + i) * 2, p.inner * 2);
    }
}

void stft_f32(const StftParams& p, const float* x, const float* window, float* y) {
  std::vector<double> re(static_cast<size_t>(p.frame_length)), im(re.size());
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t f = 0; f < p.frames; ++f) {
      for (int64_t t = 0; t < p.frame_length; ++t) {
        const float* v = x + (b * p.signal_length + f * p.step + t) * p.components;
        const double w = window ? window[t] : 1.0;
        re[static_cast<size_t>(t)] = v[0] * w;
        im[static_cast<size_t>(t)] = p.components == 2 ? v[1] * w : 0.0;
      }
      transform(re, im, p.frame_length, p.frame_length, p.bins, false, y + (b * p.frames + f) * p.bins * 2, 2);
    }
}

std::vector<double> window(WindowKind kind, int64_t size, bool periodic) {
  std::vector<double> w(static_cast<size_t>(std::max<int64_t>(size, 0)));
  const double period = static_cast<double>(periodic ? size : size - 1);
  for (int64_t n = 0; n < size; ++n) {
    const double a = period > 0 ? 2 * std::numbers::pi * static_cast<double>(n) / period : 0.0;
    switch (kind) {
      case WindowKind::kHann: w[static_cast<size_t>(n)] = 0.5 - 0.5 * std::cos(a); break;
      case WindowKind::kHamming: w[static_cast<size_t>(n)] = 25.0 / 46.0 - 21.0 / 46.0 * std::cos(a); break;
      case WindowKind::kBlackman: w[static_cast<size_t>(n)] = 0.42 - 0.5 * std::cos(a) + 0.08 * std::cos(2 * a); break;
    }
  }
  return w;
}

std::vector<double> mel_weight_matrix(int64_t num_mel_bins, int64_t dft_length, int64_t sample_rate,
                                      double lower_edge_hertz, double upper_edge_hertz) {
  const int64_t spectrogram_bins = dft_length / 2 + 1;
  std::vector<double> out(static_cast<size_t>(spectrogram_bins * num_mel_bins), 0.0);
  auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const double low = mel(lower_edge_hertz), high = mel(upper_edge_hertz);
  const double step = (high - low) / static_cast<double>(num_mel_bins + 2);
  // The triangles' corners as spectrogram bins (floor, as the reference's integer division).
  std::vector<int64_t> corner(static_cast<size_t>(num_mel_bins + 2));
  for (int64_t i = 0; i < num_mel_bins + 2; ++i) {
    const double hz = 700.0 * (std::pow(10.0, (static_cast<double>(i) * step + low) / 2595.0) - 1.0);
    const double bin = std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate));
    corner[static_cast<size_t>(i)] = static_cast<int64_t>(std::clamp(bin, -1e15, 1e15));  // a defined cast
  }
  auto set = [&](int64_t row, int64_t col, double v) {
    if (row >= 0 && row < spectrogram_bins) out[static_cast<size_t>(row * num_mel_bins + col)] = v;
  };
  // The loops visit only rows inside the matrix, however far the corners lie.
  const int64_t last = spectrogram_bins - 1;
  for (int64_t i = 0; i < num_mel_bins; ++i) {
    const int64_t lo = corner[static_cast<size_t>(i)], mid = corner[static_cast<size_t>(i + 1)],
                  hi = corner[static_cast<size_t>(i + 2)];
    if (mid == lo) {
      set(mid, i, 1.0);
    } else {
      for (int64_t j = std::max<int64_t>(lo, 0); j <= std::min(mid, last); ++j)
        set(j, i, static_cast<double>(j - lo) / static_cast<double>(mid - lo));
    }
    for (int64_t j = std::max<int64_t>(mid, 0); j < std::min(hi, last + 1); ++j)
      set(j, i, static_cast<double>(hi - j) / static_cast<double>(hi - mid));
  }
  return out;
}

}  // namespace qs::kernels::ref
