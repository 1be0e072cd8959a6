// A trained model's token embeddings as a table: nearest tokens by cosine similarity, and the
// TensorBoard Projector's TSV export (vectors.tsv + metadata.tsv) for plots and browsing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ops/settings.h"
#include "trainer/decode/translator.h"

namespace tandem::trainer {

enum class EmbeddingSide { kSource, kTarget };
inline const EnumNames<EmbeddingSide> kEmbeddingSideNames("side",
                                                          {{EmbeddingSide::kSource, "src"},
                                                           {EmbeddingSide::kTarget, "tgt"}});

// One row per vocabulary id (reserved tokens included, at their ids).
struct EmbeddingTable {
  std::vector<std::string> tokens;
  int64_t dimension = 0;
  std::vector<float> values;  // tokens.size() x dimension, row-major
  const float* row(size_t id) const { return values.data() + id * static_cast<size_t>(dimension); }
};

// The embedding matrix of one side of the translator's model with its vocabulary.
EmbeddingTable embedding_table(Translator& translator, EmbeddingSide side);

struct Neighbour {
  std::string token;
  double cosine = 0.0;
};

// The k tokens most similar to row `id` by cosine similarity, best first (ties by id), never the
// token itself nor the reserved tokens (<pad>, <unk>, <bos>, <eos>: they are not words). A zero
// vector has cosine 0 with everything.
std::vector<Neighbour> nearest_neighbours(const EmbeddingTable& table, size_t id, int k);

// Writes DIR/vectors.tsv (one row of TAB-separated values per token) and DIR/metadata.tsv (the
// token on the same line; TAB, LF, CR and backslash escaped as in vocabulary files) for the
// first `top` non-reserved tokens (the most frequent; 0: all), creating DIR. IoError naming the
// file. Returns the number of rows written.
int64_t export_projector(const EmbeddingTable& table, const std::string& directory, int64_t top);

}  // namespace tandem::trainer
