// Reference signal-processing kernels (ONNX opset 17): DFT, STFT, the Hann, Hamming and
// Blackman windows and the mel filterbank matrix. Sums in double, naive O(n^2) transforms:
// the oracle, and fast enough for the frame sizes of audio front ends.
#pragma once
#include <cstdint>
#include <vector>

namespace qs::kernels::ref {

// DFT along one axis of x [outer, length_in, inner, c] (c = 1: real, 2: complex): zero-padded or
// truncated to `length` points; y [outer, bins, inner, 2] holds bins [0, bins) of the transform
// (bins = length, or length / 2 + 1 one-sided). inverse: e^{+i...} and a 1/length scale.
struct DftParams {
  int64_t outer = 1, length_in = 1, inner = 1, components = 1;
  int64_t length = 1, bins = 1;
  bool inverse = false;
};
void dft_f32(const DftParams& p, const float* x, float* y);

// STFT of signal [batch, signal_length, c]: frames of frame_length samples every `step`, each
// multiplied by window (frame_length values, or null for ones) and transformed; y [batch, frames,
// bins, 2].
struct StftParams {
  int64_t batch = 1, signal_length = 1, components = 1;
  int64_t step = 1, frame_length = 1, frames = 1, bins = 1;
};
void stft_f32(const StftParams& p, const float* x, const float* window, float* y);

enum class WindowKind { kHann, kHamming, kBlackman };
// The window of `size` points; periodic windows have period size, symmetric ones size - 1.
std::vector<double> window(WindowKind kind, int64_t size, bool periodic);

// MelWeightMatrix: [dft_length / 2 + 1, num_mel_bins] triangles on the mel scale
// (mel(f) = 2595 log10(1 + f / 700)), as ONNX's reference computes them.
std::vector<double> mel_weight_matrix(int64_t num_mel_bins, int64_t dft_length, int64_t sample_rate,
                                      double lower_edge_hertz, double upper_edge_hertz);

}  // namespace qs::kernels::ref
