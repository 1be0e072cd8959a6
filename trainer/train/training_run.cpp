// Constraints that shaped the run:
// 1. Ranks must issue the same collectives in the same order. Every branch (epoch end, skip,
//    validation, stop) is decided on reduced or agreed values; a rank whose data ran out still
//    takes part in every step with an empty micro-batch list (docs/design.md, D1).
// 2. A failure that happens on some ranks only (a missing file on one node) would leave the
//    others waiting in the next collective: set-up work runs under collective_try(), which
//    turns it into the same error on every rank (D3).
// 3. All ranks start from rank 0's parameters (broadcast) and are compared by a bit checksum
//    every replica_check_every steps, so a divergence stops the run with the ranks named
//    (invariant 3).
// 4. Output comes from rank 0 only; timing of every rank is gathered at log steps so the
//    slowest rank is visible.
#include "trainer/train/training_run.h"

#include <omp.h>

#include <cmath>

#include "data/atomic_file.h"
#include "ops/build_info.h"
#include "ops/errors.h"
#include "ops/memory_scope.h"
#include "trainer/dist/agreement.h"
#include "trainer/train/clock.h"
#include "trainer/train/resume.h"
#include "trainer/train/run_directory.h"

namespace tandem::trainer {
namespace {

std::string milliseconds_text(double seconds) {
  return setting_text(std::round(seconds * 1000) / 1000);
}

// "training on 3 micro-batch(es) of up to 64 sentences x 25 source / 26 target steps".
std::string step_text(const std::vector<data::Batch>& micro_batches) {
  int64_t sentences = 0, source = 0, target = 0;
  for (const data::Batch& batch : micro_batches) {
    sentences = std::max(sentences, batch.batch_size);
    source = std::max(source, batch.source_steps);
    target = std::max(target, batch.target_steps);
  }
  return "training on " + std::to_string(micro_batches.size()) + " micro-batch(es) of up to " +
         std::to_string(sentences) + " sentences x " + std::to_string(source) + " source / " +
         std::to_string(target) + " target steps";
}

}  // namespace

int TrainingRun::run() {
  scheduler_->start();
  StopReason reason = StopReason::kNone;
  while (reason == StopReason::kNone) {
    watchdog_->set_step(trainer_->step());
    reason = scheduler_->agreed_stop(world_, epoch_position());  // every stop ends saved (finish)
    if (reason != StopReason::kNone) break;
    if (scheduler_->saving(world_, trainer_->step())) save(false);
    if (scheduler_->step_limit_reached(trainer_->step())) {
      reason = StopReason::kStepLimit;
      break;
    }
    const StepBatches micro_batches = next_micro_batches();
    std::vector<const data::Batch*> pointers;
    for (const data::Batch& batch : micro_batches.batches) pointers.push_back(&batch);
    trainer_->set_learning_rate(static_cast<float>(
        schedule_->rate(trainer_->step(), scheduler_->budget_fraction(trainer_->step()))));
    const StepResult result = ops::allocating(step_text(micro_batches.batches), [&] {
      return trainer_->train_step(pointers, micro_batches.positions);
    });
    if (result.empty) {  // every rank's share is used up: the epoch is over everywhere
      reason = end_epoch();
      continue;
    }
    count_step(result);
    if (scheduler_->validating_after_step(trainer_->step()) && validate_and_keep_best())
      reason = StopReason::kEarlyStopping;
  }
  validate_at_budget_end(reason);
  finish(reason);
  return stop_exit_code(reason);
}

// ---- Set-up -------------------------------------------------------------------------------

TrainingRun::TrainingRun(MpiWorld& world, TrainConfig config)
    : world_(world),
      config_(std::move(config)),
      log_(std::make_unique<MetricsLog>(world)),
      scheduler_(std::make_unique<RunScheduler>(config_)) {
  open_corpus();
  agree_on_configuration();
  collective_try(world_, [&] {
    if (world_.rank() != 0) return;
    run_directory_lock_ = std::make_unique<RunDirectoryLock>(config_.run_dir);
    earlier_run_ = find_earlier_run(config_.run_dir);
    refuse_mixing_runs(config_, earlier_run_);
  });
  // From here on a rank that stops answering ends the job instead of hanging it.
  watchdog_ = std::make_unique<CollectiveWatchdog>(
      world.rank(), world.size(), world.size() > 1 ? config_.run_dir + "/heartbeat" : "",
      config_.collective_timeout);
  if (world.size() > 1) watchdog_registration_.emplace(world, watchdog_.get());
  check_memory();
  build_model();
  open_loaders();
  const std::optional<nlohmann::json> resumed = resume();
  // Every start-up check passed: only now is the run directory written to.
  write_run_directory();
  log_start();
  if (resumed) log_->write(*resumed);
}

// Set-up that can fail on one rank only (options differ, a file is missing there): agreed.
void TrainingRun::open_corpus() {
  collective_try(world_, [&] {
    require_config(!config_.corpus.empty(), "corpus",
                   "no corpus directory (--corpus DIR, made by tandem-prep)");
    require_config(config_.max_steps > 0 || config_.max_epochs > 0 || config_.max_minutes > 0,
                   "max-steps", "set a limit: --max-steps, --max-epochs or --max-minutes");
    LrSchedule check_schedule(config_.schedule);
    corpus_.emplace(data::Corpus::open(config_.corpus));
    if (corpus_->manifest().examples("train") == 0)
      throw FormatError(config_.corpus + ": the corpus has no training examples");
    corpus_->source_vocabulary();  // the vocabulary files must be the ones the manifest names
    corpus_->target_vocabulary();
    config_.model.src_vocab_size = corpus_->manifest().source.vocab_size;
    config_.model.tgt_vocab_size = corpus_->manifest().target.vocab_size;
    validate(config_.model);
    require_config(!config_.deterministic || config_.accumulation == 1, "accum",
                   "with --deterministic a step is --step-microbatches micro-batches over all "
                   "ranks; leave --accum at 1");
  });
}

// Everything that must be equal everywhere: the configuration and the corpus (its vocabularies
// and splits). Also what identifies the run's checkpoints.
void TrainingRun::agree_on_configuration() {
  const data::Manifest& manifest = corpus_->manifest();
  std::string identity = config_text(config_);
  identity += "src_vocab_checksum = " + manifest.source.vocab_checksum + "\n";
  identity += "tgt_vocab_checksum = " + manifest.target.vocab_checksum + "\n";
  identity += "train_examples = " + std::to_string(manifest.examples("train")) + "\n";
  identity += "valid_examples = " + std::to_string(manifest.examples("valid")) + "\n";
  require_agreement(world_, "configuration", identity);
  identity_.model_config = key_value_text(to_key_values(config_.model));
  identity_.run_config = config_text(config_);
  identity_.src_vocab_checksum = manifest.source.vocab_checksum;
  identity_.tgt_vocab_checksum = manifest.target.vocab_checksum;
  identity_.optimizer = ops::kOptimizerNames.name(config_.optimizer.kind);
  identity_.build = build_info_line();
  checkpoint_directory_ = config_.run_dir + "/" + kCheckpointsFolder;
}

void TrainingRun::write_run_directory() {
  if (world_.rank() != 0) return;
  if (config_.fresh && earlier_run_.exists())
    log_->say("tandem-train: --fresh: the earlier run is now in " +
              move_run_aside(config_.run_dir, earlier_run_));
  if (config_.fresh || earlier_run_.run_id != identity_.run_id)
    write_run_id(config_.run_dir, identity_.run_id);
  data::write_file_atomically(config_.run_dir + "/" + kConfigFile, config_text(config_));
  std::fprintf(stderr,
               "tandem-train: %d rank(s) x %d thread(s); configuration (also in "
               "%s/config.ini):\n%s",
               world_.size(), omp_get_max_threads(), config_.run_dir.c_str(),
               config_text(config_).c_str());
}

// Before anything large is allocated: a configuration that cannot fit is refused on every rank.
void TrainingRun::check_memory() {
  collective_try(world_, [&] {
    memory_estimate_ = estimate_memory(config_, count_parameters(config_.model, ctx_),
                                       sequence_bounds(corpus_->manifest()), resident_bytes());
    if (!config_.skip_memory_check)
      require_memory_fits(memory_estimate_, memory_available_to_rank(world_.local_size()),
                          world_.local_size());
  });
  log_->say("tandem-train: memory estimate per rank " + memory_estimate_.text());
}

void TrainingRun::build_model() {
  model_ = std::make_unique<Seq2SeqModel>(config_.model, ctx_);
  ops::ParamStore& params = model_->params();
  model_->initialize(config_.seed, config_.init);
  world_.broadcast(params.values(), params.total_size(), 0);  // rank 0's parameters everywhere
  params.mark_values_changed();
  log_->say("parameters: " + std::to_string(params.parameter_count()));

  TrainStepConfig step_config;
  step_config.optimizer = config_.optimizer;
  step_config.learning_rate = static_cast<float>(config_.schedule.base_lr);
  step_config.clip_norm = config_.clip_norm;
  step_config.seed = config_.seed;
  step_config.rank = world_.rank();
  trainer_ = ops::allocating("allocating the optimizer state",
                             [&] { return std::make_unique<Trainer>(*model_, step_config); });
  schedule_ = std::make_unique<LrSchedule>(config_.schedule);
  if (config_.deterministic) {
    exact_sum_ =
        std::make_unique<ExactSum>(&world_, params.total_size(), config_.step_microbatches);
    trainer_->set_exact_sum(exact_sum_.get());
    const int K = config_.step_microbatches, P = world_.size();
    log_->say("deterministic: a step is " + std::to_string(K) +
              " micro-batch(es) of the global plan over " + std::to_string(P) + " rank(s)" +
              (K < P        ? "; ranks " + std::to_string(K) + " and up have none (idle)"
               : K % P != 0 ? "; some ranks run one more than others (a multiple of " +
                                  std::to_string(P) + " balances them)"
                            : ""));
  } else if (world_.size() > 1) {
    reducer_ = std::make_unique<BucketedAllReduce>(
        world_, params, static_cast<size_t>(config_.bucket_mb * (1 << 20)));
    trainer_->set_gradient_reducer(reducer_.get());
  }
}

void TrainingRun::open_loaders() {
  data::LoaderOptions options;
  options.batch_tokens = config_.batch_tokens;
  options.batch_size = config_.batch_size;
  options.pool = config_.pool;
  options.seed = config_.seed;
  options.rank = loader_rank();
  options.ranks = loader_ranks();
  collective_try(world_, [&] { train_loader_.emplace(*corpus_, "train", options); });
  validator_ = std::make_unique<Validator>(world_, *corpus_, options, config_);
}

// The "start" record, with what one blocking all-reduce of the whole gradient buffer costs
// here: the yardstick for how much of the bucketed, overlapped all-reduce stays hidden.
void TrainingRun::log_start() {
  log_->open(config_.run_dir, identity_.run_id);
  ops::ParamStore& params = model_->params();
  double blocking_allreduce_s = 0.0;
  if (world_.size() > 1) {
    world_.barrier();
    const auto start = std::chrono::steady_clock::now();
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, params.grads(), static_cast<int>(params.total_size()),
                            MPI_FLOAT, MPI_SUM, world_.comm()),
              "MPI_Allreduce");
    blocking_allreduce_s = world_.max(seconds_since(start));
  }
  nlohmann::json estimate = {{"total", memory_estimate_.total() / (1 << 20)}};
  for (const MemoryEstimate::Term& term : memory_estimate_.terms)
    estimate[term.name] = term.bytes / (1 << 20);
  log_->write({{"type", "start"},
               {"build", identity_.build},
               {"memory_estimate_mib", estimate},
               {"ranks", world_.size()},
               {"threads", omp_get_max_threads()},
               {"parameters", params.parameter_count()},
               {"gradient_bytes", params.total_size() * sizeof(float)},
               {"allreduce_bytes",
                exact_sum_ ? exact_sum_->reduced_bytes() : params.total_size() * sizeof(float)},
               {"allreduce_blocking_s", blocking_allreduce_s}});
}

// ---- Resume and save: the only places that map the live run to a TrainingState ----------

// Returns the "resume" record for metrics.jsonl, if the run resumed.
std::optional<nlohmann::json> TrainingRun::resume() {
  const auto load_start = std::chrono::steady_clock::now();
  const std::optional<LoadedCheckpoint> loaded = ops::allocating("reading a checkpoint", [&] {
    return load_for_resume(world_, config_, checkpoint_directory_, earlier_run_.run_id,
                           model_->params(), identity_);
  });
  collective_try(world_, [&] {
    if (world_.rank() == 0)
      identity_.run_id =
          decide_run_id(config_, earlier_run_,
                        loaded ? std::optional<std::string>(loaded->run_id) : std::nullopt);
  });
  if (!loaded) return std::nullopt;
  restore(*loaded);
  const TrainingState& state = loaded->state;
  if (static_cast<int>(state.cursors.size()) != loader_ranks())
    log_->say("tandem-train: the checkpoint was written by " +
              std::to_string(state.cursors.size()) + " rank(s): the rest of epoch " +
              std::to_string(state.epoch) + " (every example not yet seen, once) is split over " +
              std::to_string(world_.size()));
  log_->say("tandem-train: resumed from " + loaded->path + " at step " +
            std::to_string(state.step) + ", epoch " + std::to_string(state.epoch) + " in " +
            milliseconds_text(seconds_since(load_start)) + " s");
  return nlohmann::json{{"type", "resume"},
                        {"step", state.step},
                        {"epoch", state.epoch},
                        {"path", loaded->path},
                        {"elapsed_s", state.elapsed_seconds}};
}

void TrainingRun::restore(const LoadedCheckpoint& loaded) {
  ops::ParamStore& params = model_->params();
  std::copy(loaded.values.begin(), loaded.values.end(), params.values());
  params.mark_values_changed();
  ops::Optimizer& optimizer = trainer_->optimizer();
  std::copy(loaded.first_moment.begin(), loaded.first_moment.end(),
            optimizer.first_moment().begin());
  std::copy(loaded.second_moment.begin(), loaded.second_moment.end(),
            optimizer.second_moment().begin());
  const TrainingState& state = loaded.state;
  optimizer.set_step_count(state.optimizer_steps);
  trainer_->set_step(state.step);
  validated_step_ = state.step;
  schedule_->restore(state.plateau_scale, state.best_validation, state.schedule_bad_evaluations);
  epoch_ = state.epoch;
  epoch_begun_here_ = false;
  consecutive_skips_ = state.consecutive_skips;
  total_skips_ = state.total_skips;
  scheduler_->restore_validations_without_improvement(state.validations_without_improvement);
  scheduler_->saved(state.step);  // that checkpoint exists: not written again at once
  scheduler_->restore_elapsed_seconds(state.elapsed_seconds);
  if (exact_sum_) exact_sum_->set_scale_bits(static_cast<int>(state.gradient_scale_bits));
  const bool same_ranks = static_cast<int>(state.cursors.size()) == loader_ranks();
  collective_try(world_, [&] {
    if (same_ranks)
      train_loader_->seek(state.cursors[static_cast<size_t>(loader_rank())], state.origin);
    else
      train_loader_->seek(
          {state.epoch, 0, 0},
          data::EpochOrigin{static_cast<int64_t>(state.cursors.size()), state.cursors});
  });
}

// Collective: every rank's loader cursor is gathered.
TrainingState TrainingRun::capture_state() {
  TrainingState state;
  const data::LoaderCursor cursor = train_loader_->cursor();
  if (exact_sum_) state.gradient_scale_bits = exact_sum_->scale_bits();
  const std::vector<uint64_t> fields[3] = {world_.all_gather(static_cast<uint64_t>(cursor.epoch)),
                                           world_.all_gather(static_cast<uint64_t>(cursor.window)),
                                           world_.all_gather(static_cast<uint64_t>(cursor.batch))};
  // --deterministic: one global loader, the same cursor on every rank.
  const size_t loaders = static_cast<size_t>(loader_ranks());
  for (size_t r = 0; r < loaders; ++r)
    state.cursors.push_back({static_cast<int64_t>(fields[0][r]), static_cast<int64_t>(fields[1][r]),
                             static_cast<int64_t>(fields[2][r])});
  state.origin = train_loader_->origin();
  state.step = trainer_->step();
  state.epoch = epoch_;
  state.optimizer_steps = trainer_->optimizer().step_count();
  state.consecutive_skips = consecutive_skips_;
  state.total_skips = total_skips_;
  state.validations_without_improvement = scheduler_->validations_without_improvement();
  state.schedule_bad_evaluations = schedule_->evaluations_without_improvement();
  state.plateau_scale = schedule_->plateau_scale();
  state.best_validation = schedule_->best_validation();
  state.elapsed_seconds = scheduler_->elapsed_seconds();
  return state;
}

// Collective: rank 0 writes. A failure is the same error everywhere.
void TrainingRun::save(bool is_best) {
  const TrainingState state = capture_state();
  const auto start = std::chrono::steady_clock::now();
  std::string name;
  collective_try(world_, [&] {
    if (world_.rank() == 0)
      name = ops::allocating("building a checkpoint", [&] {
        return save_checkpoint(checkpoint_directory_, model_->params(), trainer_->optimizer(),
                               state, identity_, is_best, config_.keep);
      });
  });
  const double seconds = seconds_since(start);
  scheduler_->saved(trainer_->step());
  log_->say("checkpoint " + checkpoint_directory_ + "/" + name + (is_best ? " (best)" : "") +
            " in " + milliseconds_text(seconds) + " s");
  log_->write({{"type", "checkpoint"},
               {"step", trainer_->step()},
               {"file", name},
               {"best", is_best},
               {"seconds", seconds}});
}

// ---- The loop's parts ---------------------------------------------------------------------

// Epochs done plus the part of the current one this rank has read (its windows; for the epoch
// budget of the linear and cosine schedules).
double TrainingRun::epoch_position() const {
  const data::LoaderCursor cursor = train_loader_->cursor();
  const double windows =
      static_cast<double>(std::max<int64_t>(train_loader_->windows_per_epoch(), 1));
  const double within =
      (static_cast<double>(cursor.window) + static_cast<double>(cursor.batch) / config_.pool) /
      windows;
  return static_cast<double>(epoch_) + std::clamp(within, 0.0, 1.0);
}

// This rank's micro-batches (none once its share of the epoch is used up). Agreed, so a
// corrupt shard on one rank stops every rank with its message. --deterministic: every rank reads
// the same --step-microbatches micro-batches of the global plan and keeps those at positions
// rank, rank + ranks, ... (the plan, and so the step, does not depend on the rank count).
TrainingRun::StepBatches TrainingRun::next_micro_batches() {
  const auto start = std::chrono::steady_clock::now();
  StepBatches step;
  const int count = config_.deterministic ? config_.step_microbatches : config_.accumulation;
  collective_try(world_, [&] {
    for (int i = 0; i < count; ++i) {
      std::optional<data::Batch> batch = train_loader_->next();
      if (!batch) break;
      if (config_.deterministic && i % world_.size() != world_.rank()) continue;
      interval_.real_tokens += train_loader_->last_padding().real_tokens;
      interval_.padded_tokens += train_loader_->last_padding().padded_tokens;
      step.batches.push_back(std::move(*batch));
      step.positions.push_back(i);
    }
  });
  interval_.data_wait += seconds_since(start);
  return step;
}

int TrainingRun::loader_ranks() const {
  return config_.deterministic ? 1 : world_.size();
}

int TrainingRun::loader_rank() const {
  return config_.deterministic ? 0 : world_.rank();
}

StopReason TrainingRun::end_epoch() {
  // An epoch without a single batch would repeat for ever (every example over the length or
  // token limits, say): stop with the reason instead.
  if (steps_this_epoch_ == 0 && epoch_begun_here_)
    throw DistributedError("epoch " + std::to_string(epoch_) +
                           " has no batches on any rank: no training example fits "
                           "--batch-tokens/--batch-size");
  steps_this_epoch_ = 0;
  epoch_begun_here_ = true;
  // Start the next epoch first, so a checkpoint taken from here on (validation's best, the
  // final one) holds a cursor of the epoch it names.
  ++epoch_;
  train_loader_->start_epoch(epoch_);
  if (scheduler_->validating_at_epoch_end() && validate_and_keep_best())
    return StopReason::kEarlyStopping;
  if (scheduler_->epoch_limit_reached(epoch_)) return StopReason::kEpochLimit;
  return StopReason::kNone;
}

void TrainingRun::count_step(const StepResult& result) {
  ++steps_this_epoch_;
  const int64_t step = trainer_->step();
  if (result.skipped) {
    ++total_skips_;
    if (++consecutive_skips_ >= config_.max_skips)
      throw DistributedError("non-finite loss or gradient in " +
                             std::to_string(consecutive_skips_) +
                             " consecutive steps (last: step " + std::to_string(step) +
                             "); lower --lr or raise --clip-norm");
    log_->say("step " + std::to_string(step) +
              (result.overflow
                   ? ": a gradient too large for the exact sum's scale; update skipped, scale "
                     "lowered to 2^-" +
                         std::to_string(exact_sum_->scale_bits())
                   : ": non-finite loss or gradient on some rank; update skipped"));
  } else {
    consecutive_skips_ = 0;
  }
  interval_.add(result, *trainer_, reducer_ ? reducer_->launched_early_fraction() : 0.0);
  if (config_.replica_check_every > 0 && step % config_.replica_check_every == 0)
    check_replicas(step);
  if (step % config_.log_every == 0) {
    log_progress(world_, *log_, interval_,
                 {step, epoch_, total_skips_, trainer_->learning_rate(), result.grad_norm},
                 *scheduler_);
    interval_ = ProgressInterval{};
  }
}

void TrainingRun::check_replicas(int64_t step) {
  const ops::ParamStore& params = model_->params();
  const auto sums = world_.all_gather(bit_checksum(params.values(), params.total_size()));
  for (size_t r = 1; r < sums.size(); ++r)
    if (sums[r] != sums[0])
      throw DistributedError("replicas diverged at step " + std::to_string(step) + ": rank " +
                             std::to_string(r) + " holds different parameters than rank 0");
}

// Validates (if the corpus has a validation split); the best model by validation is kept
// whatever --keep says. Returns true when early stopping says stop.
bool TrainingRun::validate_and_keep_best() {
  if (!validator_->available()) return false;
  const bool best = ops::allocating("validating", [&] {
    return validator_->run(*model_, *schedule_, *log_, trainer_->step(), epoch_);
  });
  validated_step_ = trainer_->step();
  const bool stop = scheduler_->early_stop(best);
  if (best) save(true);
  return stop;
}

// A run that ends by its step, time or epoch budget validates the model it ends with, unless
// that model was just validated: with a budget-aware schedule the last updates, taken at the
// lowest learning rates, are often the best, and a run ended mid-epoch would otherwise never
// have them judged (or kept as `best`). A stop by signal validates nothing: the run resumes.
void TrainingRun::validate_at_budget_end(StopReason reason) {
  const bool budget_spent = reason == StopReason::kTimeLimit || reason == StopReason::kStepLimit ||
                            reason == StopReason::kEpochLimit;
  if (budget_spent && validated_step_ != trainer_->step()) validate_and_keep_best();
}

void TrainingRun::finish(StopReason reason) {
  if (!scheduler_->saved_at(trainer_->step())) save(false);
  const double seconds = scheduler_->elapsed_seconds();
  const std::vector<double> peaks = peak_rss_mib(world_);
  log_->say("tandem-train: peak memory " +
            ops::mib_text(*std::max_element(peaks.begin(), peaks.end()) * (1 << 20)) +
            " on the fullest rank (estimated " + ops::mib_text(memory_estimate_.total()) + ")");
  log_->say(std::string("tandem-train: stopped (") + stop_text(reason) + ") after " +
            std::to_string(trainer_->step()) + " steps, " + std::to_string(epoch_) + " epoch(s), " +
            duration_text(seconds));
  log_->write({{"type", "end"},
               {"step", trainer_->step()},
               {"epoch", epoch_},
               {"reason", stop_text(reason)},
               {"elapsed_s", seconds},
               {"skipped_steps", total_skips_},
               {"peak_rss_mib", peaks}});
}

int run_training(MpiWorld& world, TrainConfig config) {
  TrainingRun run(world, std::move(config));
  return run.run();
}

}  // namespace tandem::trainer
