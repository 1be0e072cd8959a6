#include "ops/sequence_ops.h"

#include <cstring>

namespace tandem::ops {

void reverse_sequences(const float* src, int64_t steps, int64_t batch, int64_t channels,
                       const int32_t* lengths, float* dst) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < steps; ++t) {
    for (int64_t n = 0; n < batch; ++n) {
      float* out = dst + (t * batch + n) * channels;
      if (t < lengths[n])
        std::memcpy(out, src + ((lengths[n] - 1 - t) * batch + n) * channels,
                    sizeof(float) * channels);
      else
        std::memset(out, 0, sizeof(float) * channels);
    }
  }
}

void copy_into_columns(const float* src, int64_t rows, int64_t channels, float* dst,
                       int64_t dst_width, int64_t offset) {
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; ++m)
    std::memcpy(dst + m * dst_width + offset, src + m * channels, sizeof(float) * channels);
}

void copy_from_columns(const float* src, int64_t rows, int64_t src_width, int64_t offset,
                       int64_t channels, float* dst, bool accumulate) {
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < rows; ++m) {
    const float* in = src + m * src_width + offset;
    float* out = dst + m * channels;
    if (accumulate)
      for (int64_t c = 0; c < channels; ++c) out[c] += in[c];
    else
      std::memcpy(out, in, sizeof(float) * channels);
  }
}

void swap_outer_dims(const float* src, int64_t a_count, int64_t b_count, int64_t channels,
                     float* dst, bool accumulate) {
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t b = 0; b < b_count; ++b)
    for (int64_t a = 0; a < a_count; ++a) {
      const float* in = src + (a * b_count + b) * channels;
      float* out = dst + (b * a_count + a) * channels;
      if (accumulate)
        for (int64_t c = 0; c < channels; ++c) out[c] += in[c];
      else
        std::memcpy(out, in, sizeof(float) * channels);
    }
}

void gather_rows(const float* src, const int64_t* rows, int64_t count, int64_t channels,
                 float* dst) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(dst + i * channels, src + rows[i] * channels, sizeof(float) * channels);
}

void scatter_rows(const float* src, const int64_t* rows, int64_t count, int64_t channels,
                  int64_t dst_rows, float* dst) {
  std::memset(dst, 0, sizeof(float) * static_cast<size_t>(dst_rows * channels));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i)
    std::memcpy(dst + rows[i] * channels, src + i * channels, sizeof(float) * channels);
}

}  // namespace tandem::ops
