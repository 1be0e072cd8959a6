// Decoding the validation split during training, scored like tandem-translate does (so the
// figures in metrics.jsonl and the translator's agree). The split is small: every rank holds
// all of it, decodes whole batches b with b % ranks == rank, and every rank gathers all
// hypotheses and computes the same scores, which therefore need no further agreement.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "ops/settings.h"
#include "trainer/decode/scoring.h"
#include "trainer/dist/mpi_world.h"
#include "trainer/model/seq2seq_model.h"

namespace tandem::trainer {

// Names (persisted in run configurations): loss, bleu, chrf, wer, per.
enum class ValidMetric { kLoss, kBleu, kChrf, kWer, kPer };
inline const EnumNames<ValidMetric> kValidMetricNames("valid-metric", {{ValidMetric::kLoss, "loss"},
                                                                       {ValidMetric::kBleu, "bleu"},
                                                                       {ValidMetric::kChrf, "chrf"},
                                                                       {ValidMetric::kWer, "wer"},
                                                                       {ValidMetric::kPer, "per"}});
bool higher_is_better(ValidMetric metric);  // BLEU and chrF

struct ValidationScores {
  double bleu = 0, chrf = 0, wer = 0, per = 0;
  int64_t sentences = 0;                   // distinct validation sources
  double value(ValidMetric metric) const;  // not for kLoss
};

class ValidationDecoder {
 public:
  // Reads the corpus's whole validation split; examples with the same source are one sentence
  // with several references. FormatError naming a bad shard.
  ValidationDecoder(const data::Corpus& corpus, int beam_size, int batch_size);
  int64_t sentences() const { return static_cast<int64_t>(sources_.size()); }

  // This rank's share of the decoding (local work: may throw on one rank only; run it under
  // the trainer's collective_try), then the scores of all shares (collective, same on all ranks).
  std::string decode_share(int rank, int ranks, Seq2SeqModel& model) const;
  ValidationScores score(const MpiWorld& world, const std::string& share) const;

 private:
  std::string text_of(const std::vector<int32_t>& ids) const;

  int beam_size_, batch_size_;
  data::Vocabulary target_vocabulary_;
  std::unique_ptr<data::Tokenizer> target_tokenizer_;
  std::vector<std::vector<int32_t>> sources_;
  std::vector<std::vector<std::string>> references_;
};

}  // namespace tandem::trainer
