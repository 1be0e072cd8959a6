#include "ops/embedding.h"

#include <cstring>
#include <stdexcept>

#include "ops/errors.h"

namespace tandem::ops {

Embedding::Embedding(ParamStore& store, const std::string& name, int vocab_size, int embedding_size)
    : store_(store), vocab_size_(vocab_size), embedding_size_(embedding_size) {
  require_config(vocab_size > 0, name, "vocabulary size must be positive");
  require_config(embedding_size > 0, name, "embedding size must be positive");
  table_ = store.declare(name, {vocab_size, embedding_size},
                         {InitKind::kXavierNormal, 0.0f, vocab_size, embedding_size});
}

void Embedding::forward(const int32_t* ids, int64_t count, float* out, int64_t out_stride) const {
  const float* table = store_.view(table_).value;
  for (int64_t m = 0; m < count; ++m) {
    if (ids[m] < 0 || ids[m] >= vocab_size_)
      throw std::out_of_range("embedding: token id " + std::to_string(ids[m]) +
                              " outside the vocabulary [0, " + std::to_string(vocab_size_) + ")");
  }
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < count; ++m)
    std::memcpy(out + m * out_stride, table + static_cast<int64_t>(ids[m]) * embedding_size_,
                sizeof(float) * embedding_size_);
}

void Embedding::backward(const int32_t* ids, int64_t count, const float* diff_out,
                         int64_t diff_stride) {
  float* table_grad = store_.view(table_).grad;
  // Serial over tokens (rows may repeat), vectorised over E: a few microseconds per batch.
  for (int64_t m = 0; m < count; ++m) {
    if (ids[m] == 0) continue;
    float* row = table_grad + static_cast<int64_t>(ids[m]) * embedding_size_;
    const float* diff = diff_out + m * diff_stride;
    for (int e = 0; e < embedding_size_; ++e) row[e] += diff[e];
  }
}

}  // namespace tandem::ops
