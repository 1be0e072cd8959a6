// Token ids -> dense vectors (a gather) and the scatter-add backward. Id 0 is <pad>: its row is
// read like any other (it is masked downstream) but never receives a gradient.
// Letters: M tokens, V vocabulary, E embedding size.
#pragma once

#include <cstdint>
#include <string>

#include "ops/param_store.h"

namespace tandem::ops {

class Embedding {
 public:
  // Declares "<name>" [V, E], initialised N(0, 1/E)-like (Xavier normal over (V, E)).
  Embedding(ParamStore& store, const std::string& name, int vocab_size, int embedding_size);

  // out[m, :] = table[ids[m], :] for m < M. out rows are `out_stride` floats apart (>= E), so an
  // embedding can be written straight into a concatenated input. Throws std::out_of_range naming
  // the id if an id is not in [0, V).
  void forward(const int32_t* ids, int64_t count, float* out, int64_t out_stride) const;

  // table_grad[ids[m], :] += diff_out[m, :] for every m with ids[m] != 0 (<pad>).
  void backward(const int32_t* ids, int64_t count, const float* diff_out, int64_t diff_stride);

  int vocab_size() const { return vocab_size_; }
  int embedding_size() const { return embedding_size_; }
  ParamId table() const { return table_; }

 private:
  ParamStore& store_;
  int vocab_size_, embedding_size_;
  ParamId table_;
};

}  // namespace tandem::ops
