// Seeded uniform values for the kernel and op tests: floats in [-1, 1), int8 in [lo, 127].
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace qs {

inline std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(gen);
  return v;
}

inline std::vector<int8_t> random_s8(int64_t n, int lo, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> dist(lo, 127);
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (int8_t& x : v) x = static_cast<int8_t>(dist(gen));
  return v;
}

}  // namespace qs
