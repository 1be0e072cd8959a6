#include "ops/dropout.h"

#include "ops/rng.h"

namespace tandem::ops {
namespace {

// Forward and backward are the same masked scaling.
void apply_mask(const float* in, float* out, int64_t count, float p, uint64_t key) {
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i)
    out[i] = uniform01(key, static_cast<uint64_t>(i)) >= p ? in[i] * scale : 0.0f;
}

}  // namespace

void dropout_forward(const float* x, float* y, int64_t count, float p, uint64_t key) {
  apply_mask(x, y, count, p, key);
}

void dropout_backward(const float* diff_y, float* diff_x, int64_t count, float p, uint64_t key) {
  apply_mask(diff_y, diff_x, count, p, key);
}

}  // namespace tandem::ops
