// Counter-based random numbers: a value is a pure function of (key, index), so dropout masks and
// initial weights do not depend on thread count or call order, backward can recompute a mask
// instead of storing it, and resuming needs only the key (the run seed and a step counter).
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace tandem::ops {

// SplitMix64 finaliser: a strong 64-bit mixer (Steele et al., 2014).
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Combines two keys into one (order matters).
inline uint64_t combine_keys(uint64_t a, uint64_t b) {
  return mix64(a ^ mix64(b + 0x632BE59BD9B4E019ull));
}

// FNV-1a of a string, used to derive a per-parameter key from its name.
inline uint64_t hash_string(const std::string& text) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// Uniform in [0, 1) with 24 random bits (exactly representable in float).
inline float uniform01(uint64_t key, uint64_t index) {
  return static_cast<float>(mix64(key ^ mix64(index)) >> 40) * (1.0f / 16777216.0f);
}

// Standard normal by Box-Muller on two counter-based uniforms.
inline double standard_normal(uint64_t key, uint64_t index) {
  const uint64_t r = mix64(key ^ mix64(2 * index));
  const uint64_t s = mix64(key ^ mix64(2 * index + 1));
  const double u1 = (static_cast<double>(r >> 11) + 1.0) * (1.0 / 9007199254740993.0);  // (0, 1]
  const double u2 = static_cast<double>(s >> 11) * (1.0 / 9007199254740992.0);          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

}  // namespace tandem::ops
