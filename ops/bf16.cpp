#include "ops/bf16.h"

namespace tandem::ops {

void convert_to_bf16(const float* in, bf16_t* out, int64_t count) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = to_bf16(in[i]);
}

void convert_to_f32(const bf16_t* in, float* out, int64_t count) {
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < count; ++i) out[i] = from_bf16(in[i]);
}

}  // namespace tandem::ops
