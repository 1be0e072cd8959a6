// One training run behind tandem-train: set-up and agreement, resume, the loop of steps, epoch
// ends, validation, checkpoints, progress, and the stop. run() reads as the algorithm; each part
// has its own named place (the decisions are RunScheduler's).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/batch_loader.h"
#include "data/corpus.h"
#include "ops/dnnl_context.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/dist/gradient_allreduce.h"
#include "trainer/dist/mpi_world.h"
#include "trainer/dist/watchdog.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/lr_schedule.h"
#include "trainer/train/memory_estimate.h"
#include "trainer/train/progress_log.h"
#include "trainer/train/run_directory.h"
#include "trainer/train/run_scheduler.h"
#include "trainer/train/train_config.h"
#include "trainer/train/train_step.h"
#include "trainer/train/validator.h"

namespace tandem::trainer {

class TrainingRun {
 public:
  // Collective set-up: checks the configuration, opens the corpus, agrees with every rank on
  // configuration and corpus, takes the run directory's lock, builds the model (rank 0's initial
  // parameters everywhere), the step and the loaders, and resumes from a checkpoint if there is
  // one; only then moves an earlier run aside (--fresh) and writes <run_dir>/run-id,
  // config.ini and the metrics' start record. Throws the same
  // tandem error on every rank when ranks disagree; a refused start writes nothing.
  // Requires: OpenMP threads already set (see tandem_train.cpp).
  TrainingRun(MpiWorld& world, TrainConfig config);
  ~TrainingRun() = default;
  TrainingRun(const TrainingRun&) = delete;
  TrainingRun& operator=(const TrainingRun&) = delete;

  // Trains until a limit, early stopping or a signal; ends with a checkpoint. Returns the exit
  // code (ops/exit_codes.h). Collective.
  int run();

 private:
  void open_corpus();
  void agree_on_configuration();
  void write_run_directory();
  void check_memory();
  void build_model();
  void open_loaders();
  void log_start();
  std::optional<nlohmann::json> resume();
  TrainingState capture_state();
  void restore(const LoadedCheckpoint& loaded);

  void save(bool is_best);
  double epoch_position() const;
  struct StepBatches {
    std::vector<data::Batch> batches;
    std::vector<int64_t> positions;  // of each in the step (its place in the global plan)
  };
  StepBatches next_micro_batches();
  // The rank count the loader's plan is cut for, and this rank's place in it (--deterministic:
  // one global plan, read by every rank as rank 0 of 1).
  int loader_ranks() const;
  int loader_rank() const;
  StopReason end_epoch();
  void count_step(const StepResult& result);
  void check_replicas(int64_t step);
  bool validate_and_keep_best();
  void validate_at_budget_end(StopReason reason);
  void finish(StopReason reason);

  MpiWorld& world_;
  TrainConfig config_;
  std::optional<data::Corpus> corpus_;
  std::unique_ptr<MetricsLog> log_;
  std::unique_ptr<RunDirectoryLock> run_directory_lock_;  // rank 0: held for the whole run
  EarlierRun earlier_run_;                                // rank 0: what run_dir held at start
  std::unique_ptr<RunScheduler> scheduler_;               // the decisions
  std::unique_ptr<CollectiveWatchdog> watchdog_;
  // Registers the watchdog with the world while it lives; declared after it and before the
  // reducer, so the reducer completes its requests watched, also when the set-up throws.
  struct WatchdogRegistration {
    MpiWorld& world;
    explicit WatchdogRegistration(MpiWorld& w, CollectiveWatchdog* dog) : world(w) {
      world.set_watchdog(dog);
    }
    ~WatchdogRegistration() { world.set_watchdog(nullptr); }
    WatchdogRegistration(const WatchdogRegistration&) = delete;
    WatchdogRegistration& operator=(const WatchdogRegistration&) = delete;
  };
  std::optional<WatchdogRegistration> watchdog_registration_;
  ops::DnnlContext ctx_;
  std::unique_ptr<Seq2SeqModel> model_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<LrSchedule> schedule_;
  std::unique_ptr<BucketedAllReduce> reducer_;
  std::unique_ptr<ExactSum> exact_sum_;  // --deterministic
  std::optional<data::BatchLoader> train_loader_;
  std::unique_ptr<Validator> validator_;
  MemoryEstimate memory_estimate_;
  CheckpointIdentity identity_;
  std::string checkpoint_directory_;
  ProgressInterval interval_;
  int64_t epoch_ = 0, consecutive_skips_ = 0, total_skips_ = 0;
  // Steps of the current epoch, and whether this process saw it begin (a resumed run may start
  // exactly at an epoch's end, where the first step finds no data).
  int64_t steps_this_epoch_ = 0;
  bool epoch_begun_here_ = true;
  // The step of the last validation, or the step this process started from (a model this
  // process has not changed is not validated again at the end of the budget).
  int64_t validated_step_ = 0;
};

// Runs training (TrainingRun); returns the exit code.
int run_training(MpiWorld& world, TrainConfig config);

}  // namespace tandem::trainer
