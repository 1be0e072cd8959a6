#include "trainer/decode/embeddings.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "data/atomic_file.h"
#include "data/batch.h"
#include "data/vocabulary.h"
#include "ops/errors.h"

namespace tandem::trainer {
namespace {

// <pad>, <unk>, <bos>, <eos> take ids 0..3 in every vocabulary.
constexpr size_t kReservedTokens = static_cast<size_t>(data::kFirstRegularId);

double norm_of(const float* v, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
  return std::sqrt(sum);
}

// The Projector's metadata is TSV too: backslash, TAB, LF and CR are escaped as in vocabulary
// files; a space stays itself (vocabulary files write \s, which reads badly in a label).
std::string projector_label(const std::string& token) {
  std::string label;
  for (char c : token) {
    switch (c) {
      case '\\':
        label += "\\\\";
        break;
      case '\t':
        label += "\\t";
        break;
      case '\n':
        label += "\\n";
        break;
      case '\r':
        label += "\\r";
        break;
      default:
        label += c;
    }
  }
  return label;
}

}  // namespace

EmbeddingTable embedding_table(Translator& translator, EmbeddingSide side) {
  const bool source = side == EmbeddingSide::kSource;
  const std::string name = source ? "encoder/embedding" : "decoder/embedding";
  const ops::ParamView* view = translator.model().params().find(name);
  if (view == nullptr || view->shape.size() != 2)
    throw FormatError(translator.checkpoint_path() + ": no 2-D parameter " + name);
  const data::Vocabulary& vocabulary = translator.vocabulary(source);
  if (view->shape[0] != vocabulary.size())
    throw FormatError(translator.checkpoint_path() + ": " + name + " has " +
                      std::to_string(view->shape[0]) + " rows, the vocabulary " +
                      std::to_string(vocabulary.size()) + " tokens");
  EmbeddingTable table;
  table.dimension = view->shape[1];
  table.values.assign(view->value, view->value + view->size);
  for (int32_t id = 0; id < vocabulary.size(); ++id) table.tokens.push_back(vocabulary.token(id));
  return table;
}

std::vector<Neighbour> nearest_neighbours(const EmbeddingTable& table, size_t id, int k) {
  const double own_norm = norm_of(table.row(id), table.dimension);
  std::vector<std::pair<double, size_t>> scored;
  for (size_t other = kReservedTokens; other < table.tokens.size(); ++other) {
    if (other == id) continue;
    const float* a = table.row(id);
    const float* b = table.row(other);
    double dot = 0.0;
    for (int64_t i = 0; i < table.dimension; ++i) dot += static_cast<double>(a[i]) * b[i];
    const double norms = own_norm * norm_of(b, table.dimension);
    scored.push_back({norms > 0.0 ? dot / norms : 0.0, other});
  }
  const size_t count = std::min(scored.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(count),
                    scored.end(), [](const auto& x, const auto& y) {
                      return x.first != y.first ? x.first > y.first : x.second < y.second;
                    });
  std::vector<Neighbour> result;
  for (size_t i = 0; i < count; ++i)
    result.push_back({table.tokens[scored[i].second], scored[i].first});
  return result;
}

int64_t export_projector(const EmbeddingTable& table, const std::string& directory, int64_t top) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) throw IoError(directory + ": cannot create the directory (" + error.message() + ")");
  const size_t available =
      table.tokens.size() > kReservedTokens ? table.tokens.size() - kReservedTokens : 0;
  const size_t rows = top > 0 ? std::min(available, static_cast<size_t>(top)) : available;
  std::string vectors, metadata;
  char number[32];
  for (size_t id = kReservedTokens; id < kReservedTokens + rows; ++id) {
    const float* v = table.row(id);
    for (int64_t i = 0; i < table.dimension; ++i) {
      std::snprintf(number, sizeof number, "%.9g", static_cast<double>(v[i]));
      vectors += (i ? "\t" : "") + std::string(number);
    }
    vectors += "\n";
    metadata += projector_label(table.tokens[id]) + "\n";
  }
  data::write_file_atomically(directory + "/vectors.tsv", vectors);
  data::write_file_atomically(directory + "/metadata.tsv", metadata);
  return static_cast<int64_t>(rows);
}

}  // namespace tandem::trainer
