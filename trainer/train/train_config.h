// TrainConfig: everything a training run is given, and THE table of its settings (name, field,
// help, group), from which tandem-train's options and --help, config.ini and the configuration
// compared across ranks are all derived.
#pragma once

#include <cstdint>
#include <string>

#include "ops/optimizer.h"
#include "ops/settings.h"
#include "trainer/decode/valid_decoding.h"
#include "trainer/model/model_config.h"
#include "trainer/train/lr_schedule.h"

namespace tandem::trainer {

struct TrainConfig {
  // tandem-train's default model reads its source in both directions.
  TrainConfig() { model.bidirectional_encoder = true; }

  std::string corpus;           // tandem-prep output
  std::string run_dir = "run";  // config.ini, metrics.jsonl and checkpoints/ go here
  ModelConfig model;            // vocabulary sizes come from the corpus
  ops::OptimizerConfig optimizer;
  ScheduleConfig schedule;
  double clip_norm = 5.0;
  int accumulation = 1;  // micro-batches per step and rank
  // Bit-identical results on any rank count (docs/training.md, "Deterministic training"): a step
  // is step_microbatches micro-batches of one global plan, micro-batch i on rank i mod ranks.
  bool deterministic = false;
  int step_microbatches = 4;
  int64_t batch_tokens = 2048;  // per micro-batch; 0: use batch_size
  int batch_size = 0;
  int pool = 60;
  uint64_t seed = 1;
  ops::InitPolicy init;   // initial values: the layers' own, or uniform:S / xavier everywhere
  int64_t max_steps = 0;  // 0: no limit (then max_epochs or max_minutes must be set)
  int64_t max_epochs = 0;
  double max_minutes = 0.0;
  int64_t valid_every = 0;     // steps; 0: at the end of every epoch
  int64_t early_stopping = 0;  // stop after this many validations without improvement (0: off)
  // What "best" means for checkpoints, early stopping and the plateau schedule: the validation
  // loss, or a score of the decoded validation set (which is then decoded at every validation).
  ValidMetric valid_metric = ValidMetric::kLoss;
  bool valid_decode = false;  // decode and score the validation set even when ranking by loss
  int valid_beam = 1;         // beam size of validation decoding (1: greedy)
  int64_t log_every = 50;
  int64_t replica_check_every = 100;
  int64_t max_skips = 10;           // stop after this many non-finite steps in a row
  double bucket_mb = 16.0;          // all-reduce bucket size
  int64_t save_every = 1000;        // steps between checkpoints (0: only at the end and on signals)
  double save_every_minutes = 0;    // also every this many minutes (0: off)
  int keep = 3;                     // newest checkpoints kept (plus the best by validation)
  double collective_timeout = 300;  // seconds a rank may wait in one collective (0: no watchdog)
  // Not part of the run's identity (they may change between a run and its resumption):
  int threads = 0;                 // OpenMP threads per rank; 0: cores on the node / ranks there
  std::string resume = "auto";     // auto (newest verified checkpoint, if any), none, or a file
  bool reset_optimizer = false;    // resume parameters and counters, start the optimizer afresh
  bool skip_memory_check = false;  // start even if the memory estimate exceeds what a rank has
  bool fresh = false;  // a run-dir holding another run: move that run aside, start a new one
};

// THE table of the run's settings, in help order (groups Data, Model, Training, Run); option
// names are the keys. The persisted ones form config.ini and the configuration all ranks must
// agree on.
Settings train_settings(TrainConfig& config);

// "key = value" lines of the persisted settings, in table order.
std::string config_text(const TrainConfig& config);

}  // namespace tandem::trainer
