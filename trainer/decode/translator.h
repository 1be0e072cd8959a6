// A trained model loaded for decoding: the checkpoint (verified), the corpus's vocabularies and
// tokenisers, text -> ids with the checks tandem-translate reports per line, and deterministic
// decoding batches (shared with validation-time decoding in training).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/tokenizer.h"
#include "data/vocabulary.h"
#include "ops/dnnl_context.h"
#include "trainer/decode/beam_search.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem::trainer {

// Batches for decoding: source indices sorted by length (longest first, ties in input order),
// `batch_size` per batch. They depend on the lengths alone, so any number of ranks that each
// decode whole batches produce bit-identical hypotheses.
std::vector<std::vector<size_t>> plan_decoding_batches(
    const std::vector<std::vector<int32_t>>& sources, int batch_size);

// Decodes sources[indices[i]] for every i (beam_size 1: greedy); returns their n-best lists in
// `indices` order. Sources must be non-empty.
std::vector<std::vector<Hypothesis>> decode_sources(
    Seq2SeqModel& model, const std::vector<std::vector<int32_t>>& sources,
    const std::vector<size_t>& indices, const BeamOptions& options);
std::vector<std::vector<Hypothesis>> decode_sources(
    const Ensemble& models, const std::vector<std::vector<int32_t>>& sources,
    const std::vector<size_t>& indices, const BeamOptions& options);

// One input line made ready for the model, or why it cannot be translated.
struct PreparedSource {
  std::vector<std::string> tokens;  // the source tokens
  std::vector<int32_t> ids;         // their ids (<unk> for unknown tokens)
  std::string problem;              // empty if usable, else e.g. "empty line"
};

struct TranslatorOptions {
  std::string checkpoint;   // a file, a checkpoint directory or a run directory
  bool prefer_best = true;  // for directories: the best checkpoint by validation, else latest
  std::string corpus;       // "" : the corpus the checkpoint's run trained on
  // Longer sources are refused (per line); 0: 2 x the longest training source, at least 64.
  int64_t max_source_tokens = 0;
};

class Translator {
 public:
  // Loads and verifies the checkpoint and the corpus's vocabularies/tokenisers. IoError /
  // FormatError naming the file; ConfigError if the corpus's vocabularies are not the ones the
  // checkpoint was trained with.
  Translator(const TranslatorOptions& options, ops::DnnlContext& ctx);

  const std::string& checkpoint_path() const { return checkpoint_path_; }
  int64_t step() const { return step_; }
  int64_t max_source_tokens() const { return max_source_tokens_; }
  Seq2SeqModel& model() { return *model_; }
  const data::Vocabulary& vocabulary(bool source) const {
    return source ? source_vocabulary_ : target_vocabulary_;
  }

  // Trims ASCII whitespace (as tandem-prep does) and tokenises. Problems: invalid UTF-8, empty,
  // more than max_source_tokens() tokens.
  PreparedSource prepare(std::string_view line) const;

  // Target ids -> their tokens and the detokenised text. With replace_unk, every <unk> becomes
  // the source token the model attended to most when producing it (needs attention).
  std::vector<std::string> target_tokens(const std::vector<int32_t>& ids) const;
  std::string detokenize(const std::vector<int32_t>& ids, const PreparedSource* source = nullptr);

 private:
  std::string checkpoint_path_;
  int64_t step_ = 0, max_source_tokens_ = 0;
  data::Vocabulary source_vocabulary_, target_vocabulary_;
  std::unique_ptr<data::Tokenizer> source_tokenizer_, target_tokenizer_;
  std::unique_ptr<Seq2SeqModel> model_;
};

}  // namespace tandem::trainer
