// Beam search over Seq2SeqModel's incremental decoder, with length normalisation and n-best
// lists. The greedy hypothesis is always among the candidates, so the best hypothesis never
// scores below greedy decoding's.
#pragma once

#include <cstdint>
#include <vector>

#include "data/batch.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem::trainer {

struct BeamOptions {
  int beam_size = 5;
  int n_best = 1;                  // hypotheses returned per sentence (<= beam_size)
  double length_penalty = 1.0;     // score = log P / length^alpha (alpha 0: raw log P)
  double max_length_factor = 2.0;  // at most factor x source length + max_length_extra tokens
  int max_length_extra = 10;
};

struct Hypothesis {
  std::vector<int32_t> tokens;   // without <bos>/<eos>
  double log_probability = 0.0;  // of the tokens and the closing <eos> (if it was produced)
  double score = 0.0;            // the length-normalised score hypotheses are ranked by
  bool finished = true;          // ended with <eos> (false: cut at the length limit)
};

// For each row of batch.source (in that order): up to n_best hypotheses, best first.
// ConfigError for invalid options.
std::vector<std::vector<Hypothesis>> beam_search(Seq2SeqModel& model, const data::Batch& batch,
                                                 const BeamOptions& options);

// An ensemble: each step's next-token log-probabilities are the mean of the models' (models of
// one target vocabulary; ConfigError otherwise). An ensemble of one is beam_search above, and an
// ensemble of a model with itself gives bit for bit the same hypotheses.
using Ensemble = std::vector<Seq2SeqModel*>;
std::vector<std::vector<Hypothesis>> beam_search(const Ensemble& models, const data::Batch& batch,
                                                 const BeamOptions& options);

}  // namespace tandem::trainer
