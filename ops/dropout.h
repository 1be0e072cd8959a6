// Inverted dropout with counter-based masks: element i is kept iff uniform01(key, i) >= p, and
// kept values are scaled by 1/(1-p). The mask is a pure function of (key, i), so backward
// recomputes it instead of storing it, and a resumed run draws the same masks.
#pragma once

#include <cstdint>

namespace tandem::ops {

// y[i] = x[i] * mask(key, i) / (1 - p) for i < count. x and y may alias. Requires 0 <= p < 1.
void dropout_forward(const float* x, float* y, int64_t count, float p, uint64_t key);

// diff_x[i] = diff_y[i] * mask(key, i) / (1 - p): the same key as the forward. May alias.
void dropout_backward(const float* diff_y, float* diff_x, int64_t count, float p, uint64_t key);

}  // namespace tandem::ops
