// WAVE audio files (RIFF): PCM 8, 16, 24 and 32 bit, IEEE float 32 and 64 bit, plain or
// WAVE_FORMAT_EXTENSIBLE, any number of channels, for raw-waveform audio models.
#pragma once
#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace qs::io {

struct WavInfo {
  int channels = 0;
  int sample_rate = 0;
  int bits = 0;
  bool is_float = false;
};

// Reads the samples as float32 [channels, frames], scaled to [-1, 1) as audio libraries do:
// 8-bit (unsigned) (v - 128) / 128, 16-bit v / 32768, 24-bit v / 8388608, 32-bit v / 2^31;
// float samples as they are. Errors name the file and say what is wrong.
Expected<Tensor> read_wav(const std::string& path, WavInfo* info = nullptr);

}  // namespace qs::io
