// Test fixtures for decoding: a tiny corpus made by tandem-prep's code, and a checkpoint of a model
// for it, written as tandem-train writes one (so Translator loads and verifies it).
#pragma once

#include <string>

#include "data/corpus.h"
#include "data/prep.h"
#include "ops/optimizer.h"
#include "tests/test_utils.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem::testing {

// tandem-prep of `tsv` (char source, word target) into `directory`; returns the opened corpus.
inline data::Corpus make_corpus(const std::string& tsv_path, const std::string& tsv,
                                const std::string& directory) {
  write_text(tsv_path, tsv);
  data::PrepOptions prep;
  prep.train_tsv = tsv_path;
  prep.output = directory;
  prep.source.tokenizer = data::TokenizerKind::kChar;
  prep.target.tokenizer = data::TokenizerKind::kWord;
  data::run_prep(prep);
  return data::Corpus::open(directory);
}

// A model configuration with the corpus's vocabulary sizes.
inline trainer::ModelConfig config_for(const data::Corpus& corpus) {
  trainer::ModelConfig config;
  config.src_vocab_size = corpus.manifest().source.vocab_size;
  config.tgt_vocab_size = corpus.manifest().target.vocab_size;
  config.embedding_size = 4;
  config.hidden_size = 8;
  return config;
}

// Saves `model` as step `step` of a run on `corpus` into `directory` (its checkpoints folder).
inline void save_model(const trainer::Seq2SeqModel& model, const data::Corpus& corpus,
                       const std::string& corpus_path, const std::string& directory, int64_t step) {
  trainer::CheckpointIdentity identity;
  identity.model_config = key_value_text(trainer::to_key_values(model.config()));
  identity.run_config = "corpus = " + corpus_path + "\n";
  identity.src_vocab_checksum = corpus.manifest().source.vocab_checksum;
  identity.tgt_vocab_checksum = corpus.manifest().target.vocab_checksum;
  identity.optimizer = "adam";
  ops::Optimizer optimizer(ops::OptimizerConfig{}, model.params().total_size());
  trainer::TrainingState state;
  state.step = step;
  state.cursors.push_back({});
  trainer::save_checkpoint(directory, model.params(), optimizer, state, identity, false, 3);
}

}  // namespace tandem::testing
