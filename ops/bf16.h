// bfloat16 storage for mixed precision: bf16 copies of activations and weights feed oneDNN's
// bf16 primitives (twice the f32 FLOP rate on AVX512-BF16), while master weights, gradients and
// optimizer state stay f32. Conversion rounds to nearest even; NaN stays NaN.
#pragma once

#include <cstdint>
#include <cstring>

namespace tandem::ops {

// Names (f32, bf16) are persisted in run configurations: never rename.
enum class Precision { kF32, kBf16 };

using bf16_t = uint16_t;

inline bf16_t to_bf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  if ((bits & 0x7F800000u) == 0x7F800000u && (bits & 0x007FFFFFu))
    return static_cast<bf16_t>((bits >> 16) | 0x40u);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return static_cast<bf16_t>(bits >> 16);
}

inline float from_bf16(bf16_t value) {
  const uint32_t bits = static_cast<uint32_t>(value) << 16;
  float result;
  std::memcpy(&result, &bits, sizeof result);
  return result;
}

// out[i] = to_bf16(in[i]) / from_bf16(in[i]) for i < count (OpenMP, vectorised).
void convert_to_bf16(const float* in, bf16_t* out, int64_t count);
void convert_to_f32(const bf16_t* in, float* out, int64_t count);

}  // namespace tandem::ops
