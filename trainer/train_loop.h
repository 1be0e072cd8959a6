// The distributed training loop behind tandem-train: loaders, steps, learning-rate schedule,
// validation and early stopping, replica checks, progress line and JSON-lines metrics, and
// agreed stops (limits, SIGINT). Every decision that changes control flow is taken on values
// that all ranks share (reduced or agreed), so ranks never wait for each other in different
// places.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ops/optimizer.h"
#include "trainer/lr_schedule.h"
#include "trainer/model_config.h"
#include "trainer/mpi_world.h"
#include "trainer/valid_decoding.h"

namespace tandem::trainer {

struct TrainConfig {
  std::string corpus;           // tandem-prep output
  std::string run_dir = "run";  // effective configuration and metrics go here
  ModelConfig model;            // vocabulary sizes come from the corpus
  ops::OptimizerConfig optimizer;
  ScheduleConfig schedule;
  double clip_norm = 5.0;
  int accumulation = 1;         // micro-batches per step and rank
  int64_t batch_tokens = 2048;  // per micro-batch; 0: use batch_size
  int batch_size = 0;
  int pool = 20;
  uint64_t seed = 1;
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
  int64_t max_skips = 10;   // stop after this many non-finite steps in a row
  double bucket_mb = 16.0;  // all-reduce bucket size
  int threads = 0;          // OpenMP threads per rank; 0: cores on the node / ranks on the node
  // Checkpoints (in <run_dir>/checkpoints).
  int64_t save_every = 1000;      // steps between checkpoints (0: only at the end and on signals)
  double save_every_minutes = 0;  // also every this many minutes (0: off)
  int keep = 3;                   // newest checkpoints kept (plus the best by validation)
  std::string resume = "auto";    // auto (newest verified one, if any), none, or a checkpoint file
  bool reset_optimizer = false;   // resume parameters and counters but start the optimizer afresh
  double collective_timeout = 300;  // seconds a rank may wait in one collective (0: no watchdog)
};

// Exit codes of tandem-train (documented in docs/training.md). Never renumber.
constexpr int kExitDone = 0;   // reached a limit or early stopping
constexpr int kExitError = 1;  // an error (I/O, corrupt data, ranks disagree, too many NaN steps)
constexpr int kExitUsage = 2;  // bad command line or configuration
constexpr int kExitRequeue = 75;       // checkpointed on a preemption signal: requeue and resume
constexpr int kExitInterrupted = 130;  // stopped cleanly on SIGINT (after a checkpoint)

// "key = value" lines of everything, in a fixed order: printed at start, stored as
// <run_dir>/config.ini (loadable with --config), compared across ranks.
std::vector<std::pair<std::string, std::string>> to_key_values(const TrainConfig& config);

// Runs training; returns an exit code above. Throws tandem errors (the same one on every rank
// when ranks disagree). Requires: OpenMP threads already set (see tandem_train.cpp).
int run_training(MpiWorld& world, TrainConfig config);

// Set from signal handlers; the loop agrees on them at the next step boundary, checkpoints and
// stops (SIGINT: exit 130; preemption signals such as SIGTERM/SIGUSR1: exit 75).
void request_stop();
void request_preemption();

}  // namespace tandem::trainer
