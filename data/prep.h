// tandem-prep as a library: parallel text -> vocabularies + sharded HDF5 corpus (+ manifest).
// Two streaming passes over the training input (counting, then writing); memory is bounded by
// the vocabulary, the SentencePiece training sample and one shard per split.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "data/text_pairs.h"
#include "data/tokenizer.h"

namespace tandem::data {

struct PrepSideOptions {
  TokenizerKind tokenizer = TokenizerKind::kChar;
  std::string sentencepiece_model;  // use this trained .model instead of training one
  int64_t vocab_size = 0;           // cap on the vocabulary (0: none); SentencePiece model size
  int64_t min_count = 1;            // char/word: tokens seen fewer times map to <unk>
};

struct PrepOptions {
  // Training input: a TSV, or two aligned files.
  std::string train_tsv, train_source, train_target;
  // Validation input (same forms), or a fraction of the training input.
  std::string valid_tsv, valid_source, valid_target;
  double valid_fraction = 0.0;  // a pair goes to validation iff hash(seed, source text) < fraction,
                                // so repeated sources (alternative targets) stay on one side
  uint64_t seed = 1;
  std::string output;  // corpus directory
  bool force = false;  // overwrite an existing corpus
  PrepSideOptions source, target;
  std::string sentencepiece_type = "unigram";  // or "bpe"
  // SentencePiece's normalisation rule for the models prep trains. identity: text as written, so
  // a Chinese target keeps its full-width punctuation (NFKC would turn ，？！ into ASCII, and the
  // model could never output what the references contain); docs/corpus.md.
  std::string sentencepiece_normalization = "identity";
  int64_t sentencepiece_sample = 2000000;  // sentences kept to train SentencePiece
  int64_t max_length = 0;  // drop pairs with more tokens than this on either side (0: keep all)
  int64_t shards = 0;      // number of training shards (0: use shard_size)
  int64_t shard_size = 100000;  // examples per shard
  int deflate = 0;              // 0 (off) .. 9
  TextReadOptions read;
  // Progress lines ("pass 1: 1000000 lines ..."), every progress_every lines; may be empty.
  std::function<void(const std::string&)> progress;
  int64_t progress_every = 1000000;
};

struct PrepSummary {
  int64_t lines = 0;  // physical input lines, all inputs
  int64_t kept_train = 0, kept_valid = 0;
  int64_t blank = 0, empty_side = 0, too_long = 0, bad_tabs = 0, bad_utf8 = 0, line_too_long = 0;
  int64_t train_shards = 0, valid_shards = 0;
  int32_t source_vocab = 0, target_vocab = 0;
  double source_oov_train = 0, target_oov_train = 0, source_oov_valid = 0, target_oov_valid = 0;
  int64_t source_p50 = 0, source_p90 = 0, source_p99 = 0, source_max = 0;
  int64_t target_p50 = 0, target_p90 = 0, target_p99 = 0, target_max = 0;
  std::string to_json() const;
  std::string to_text() const;  // the human summary tandem-prep prints
};

// Runs the whole preparation. ConfigError (naming the option) for bad options or an existing
// output without force; FormatError "file:line: problem" for bad input; IoError for I/O.
// Every file is written atomically and the manifest last, so an interrupted run leaves no
// corpus that claims to be complete.
PrepSummary run_prep(const PrepOptions& options);

}  // namespace tandem::data
