// Validation during training: the loss per target token over the validation split and, when
// asked (--valid-decode, or a --valid-metric other than loss), the decoded split's WER, PER,
// BLEU and chrF. The chosen metric tells the schedule whether this is the best model so far.
#pragma once

#include <cstdint>
#include <optional>

#include "data/batch_loader.h"
#include "data/corpus.h"
#include "trainer/decode/valid_decoding.h"
#include "trainer/dist/mpi_world.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/lr_schedule.h"
#include "trainer/train/progress_log.h"
#include "trainer/train/train_config.h"

namespace tandem::trainer {

class Validator {
 public:
  // Collective (agreed errors): opens the validation split, if the corpus has one; ConfigError
  // if decoding is asked for and there is none.
  Validator(const MpiWorld& world, const data::Corpus& corpus, data::LoaderOptions options,
            const TrainConfig& config);
  bool available() const { return loader_.has_value(); }

  // Collective: validates, prints the line, writes the "valid" record, and tells `schedule`.
  // Returns true if this was the best validation so far. Requires: available().
  bool run(Seq2SeqModel& model, LrSchedule& schedule, MetricsLog& log, int64_t step, int64_t epoch);

 private:
  const MpiWorld& world_;
  const TrainConfig& config_;
  std::optional<data::BatchLoader> loader_;
  std::optional<ValidationDecoder> decoder_;
};

}  // namespace tandem::trainer
