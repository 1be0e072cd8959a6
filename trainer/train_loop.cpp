// Constraints that shaped the loop:
// 1. Ranks must issue the same collectives in the same order. Every branch (epoch end, skip,
//    validation, stop) is decided on reduced or agreed values; a rank whose data ran out still
//    takes part in every step with an empty micro-batch list.
// 2. A failure that happens on some ranks only (a missing file on one node) would leave the
//    others waiting in the next collective: set-up work runs under collective_try(), which
//    turns it into the same error on every rank.
// 3. All ranks start from rank 0's parameters (broadcast) and are compared by a bit checksum
//    every replica_check_every steps, so a divergence stops the run with the ranks named.
// 4. Output comes from rank 0 only; timing of every rank is gathered at log steps so the
//    slowest rank is visible.
#include "trainer/train_loop.h"

#include <omp.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "data/atomic_file.h"
#include "data/batch_loader.h"
#include "ops/errors.h"
#include "trainer/checkpoint.h"
#include "trainer/gradient_allreduce.h"
#include "trainer/seq2seq_model.h"
#include "trainer/train_step.h"
#include "trainer/watchdog.h"

namespace tandem::trainer {
namespace {

std::atomic<bool> stop_requested{false};
std::atomic<bool> preemption_requested{false};

std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

// Runs `body` on every rank; if it throws a tandem::Error on any rank, every rank throws the
// same DistributedError naming the first failing rank and its message.
// A ConfigError stays a ConfigError (a usage problem), anything else becomes DistributedError.
template <typename Body>
void collective_try(const MpiWorld& world, Body&& body) {
  std::string failure;  // "C" or "E" + message
  try {
    body();
  } catch (const ConfigError& error) {
    failure = std::string("C") + error.what();
  } catch (const Error& error) {
    failure = std::string("E") + error.what();
  }
  const std::vector<std::string> failures = world.all_gather(failure);
  for (size_t r = 0; r < failures.size(); ++r) {
    if (failures[r].empty()) continue;
    const std::string message =
        (world.size() > 1 ? "rank " + std::to_string(r) + ": " : std::string()) +
        failures[r].substr(1);
    if (failures[r][0] == 'C') throw ConfigError(message);
    throw DistributedError(message);
  }
}

std::string config_text(const TrainConfig& config) {
  std::string text;
  for (const auto& [key, value] : to_key_values(config)) text += key + " = " + value + "\n";
  return text;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  const auto s = static_cast<int64_t>(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return text;
}

// Validation loss per target token over the split (each rank its share, then summed).
std::pair<double, int64_t> validate(const MpiWorld& world, Seq2SeqModel& model,
                                    data::BatchLoader& loader) {
  std::vector<double> totals{0.0, 0.0};
  collective_try(world, [&] {
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      const ops::LossSum loss = model.evaluate(*batch);
      totals[0] += loss.loss;
      totals[1] += static_cast<double>(loss.tokens);
    }
  });
  world.sum(totals);
  return {totals[1] > 0 ? totals[0] / totals[1] : 0.0, static_cast<int64_t>(totals[1])};
}

// Accumulates per-step figures between two log lines.
struct Interval {
  double loss = 0, data_wait = 0, compute = 0, reduce = 0, update = 0, early = 0;
  int64_t tokens = 0, steps = 0, real_tokens = 0, padded_tokens = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
};

// Every rank's peak resident memory in MiB, indexed by rank.
std::vector<double> peak_rss_mib(const MpiWorld& world) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::vector<double> peaks;
  for (uint64_t kib : world.all_gather(static_cast<uint64_t>(usage.ru_maxrss)))
    peaks.push_back(static_cast<double>(kib) / 1024.0);
  return peaks;
}

// TrainingState as int64 words for one broadcast (doubles by their bits; cursor lists with
// their lengths). The packed size travels first.
std::vector<int64_t> pack_state(const TrainingState& state) {
  int64_t plateau = 0, best = 0;
  std::memcpy(&plateau, &state.plateau_scale, sizeof plateau);
  std::memcpy(&best, &state.best_validation, sizeof best);
  std::vector<int64_t> packed{state.step,
                              state.epoch,
                              state.optimizer_steps,
                              state.consecutive_skips,
                              state.total_skips,
                              state.validations_without_improvement,
                              state.schedule_bad_evaluations,
                              plateau,
                              best};
  for (const auto* cursors : {&state.cursors, &state.origin.cursors}) {
    packed.push_back(static_cast<int64_t>(cursors->size()));
    for (const data::LoaderCursor& cursor : *cursors)
      packed.insert(packed.end(), {cursor.epoch, cursor.window, cursor.batch});
  }
  packed.push_back(state.origin.ranks);
  return packed;
}

TrainingState unpack_state(const std::vector<int64_t>& packed) {
  TrainingState state;
  state.step = packed[0];
  state.epoch = packed[1];
  state.optimizer_steps = packed[2];
  state.consecutive_skips = packed[3];
  state.total_skips = packed[4];
  state.validations_without_improvement = packed[5];
  state.schedule_bad_evaluations = packed[6];
  std::memcpy(&state.plateau_scale, &packed[7], sizeof(double));
  std::memcpy(&state.best_validation, &packed[8], sizeof(double));
  size_t at = 9;
  for (auto* cursors : {&state.cursors, &state.origin.cursors}) {
    const int64_t count = packed[at++];
    for (int64_t i = 0; i < count; ++i, at += 3)
      cursors->push_back({packed[at], packed[at + 1], packed[at + 2]});
  }
  state.origin.ranks = packed[at];
  return state;
}

}  // namespace

void request_stop() {
  stop_requested = true;
}

void request_preemption() {
  preemption_requested = true;
}

std::vector<std::pair<std::string, std::string>> to_key_values(const TrainConfig& c) {
  std::vector<std::pair<std::string, std::string>> values{{"corpus", c.corpus},
                                                          {"run-dir", c.run_dir}};
  for (const auto& [key, value] : to_key_values(c.model)) {
    if (key == "src_vocab" || key == "tgt_vocab") continue;  // from the corpus
    std::string option = key;
    for (char& ch : option)
      if (ch == '_') ch = '-';
    values.emplace_back(option, value);
  }
  const std::vector<std::pair<std::string, std::string>> rest{
      {"optimizer", ops::optimizer_kind_name(c.optimizer.kind)},
      {"lr", number_text(c.schedule.base_lr)},
      {"lr-schedule", schedule_kind_name(c.schedule.kind)},
      {"warmup-steps", std::to_string(c.schedule.warmup_steps)},
      {"decay-factor", number_text(c.schedule.decay_factor)},
      {"decay-every", std::to_string(c.schedule.decay_every)},
      {"plateau-patience", std::to_string(c.schedule.plateau_patience)},
      {"momentum", number_text(c.optimizer.momentum)},
      {"beta1", number_text(c.optimizer.beta1)},
      {"beta2", number_text(c.optimizer.beta2)},
      {"weight-decay", number_text(c.optimizer.weight_decay)},
      {"clip-norm", number_text(c.clip_norm)},
      {"accum", std::to_string(c.accumulation)},
      {"batch-tokens", std::to_string(c.batch_tokens)},
      {"batch-size", std::to_string(c.batch_size)},
      {"pool", std::to_string(c.pool)},
      {"seed", std::to_string(c.seed)},
      {"max-steps", std::to_string(c.max_steps)},
      {"max-epochs", std::to_string(c.max_epochs)},
      {"max-minutes", number_text(c.max_minutes)},
      {"valid-every", std::to_string(c.valid_every)},
      {"early-stopping", std::to_string(c.early_stopping)},
      {"valid-metric", valid_metric_name(c.valid_metric)},
      {"valid-decode", c.valid_decode ? "true" : "false"},
      {"valid-beam", std::to_string(c.valid_beam)},
      {"log-every", std::to_string(c.log_every)},
      {"replica-check-every", std::to_string(c.replica_check_every)},
      {"max-skips", std::to_string(c.max_skips)},
      {"bucket-mb", number_text(c.bucket_mb)},
      {"save-every", std::to_string(c.save_every)},
      {"save-every-minutes", number_text(c.save_every_minutes)},
      {"keep", std::to_string(c.keep)},
      {"collective-timeout", number_text(c.collective_timeout)}};
  values.insert(values.end(), rest.begin(), rest.end());
  return values;
}

int run_training(MpiWorld& world, TrainConfig config) {
  const bool leader = world.rank() == 0;
  auto say = [&](const std::string& line) {
    if (leader) std::fprintf(stderr, "%s\n", line.c_str());
  };
  // Set-up that can fail on one rank only (options differ, a file is missing there): agreed.
  std::optional<data::Corpus> corpus;
  collective_try(world, [&] {
    require_config(!config.corpus.empty(), "corpus",
                   "no corpus directory (--corpus DIR, made by tandem-prep)");
    require_config(config.max_steps > 0 || config.max_epochs > 0 || config.max_minutes > 0,
                   "max-steps", "set a limit: --max-steps, --max-epochs or --max-minutes");
    require_config(config.accumulation >= 1, "accum", "must be at least 1");
    require_config(config.log_every >= 1, "log-every", "must be at least 1");
    require_config(config.bucket_mb > 0, "bucket-mb", "must be positive");
    LrSchedule check_schedule(config.schedule);
    corpus.emplace(data::Corpus::open(config.corpus));
    if (corpus->manifest().examples("train") == 0)
      throw FormatError(config.corpus + ": the corpus has no training examples");
    config.model.src_vocab_size = corpus->manifest().source.vocab_size;
    config.model.tgt_vocab_size = corpus->manifest().target.vocab_size;
    validate(config.model);
  });
  // Everything that must be equal everywhere: the configuration, the corpus (its vocabularies
  // and shards), the machine-independent build settings.
  std::string identity = config_text(config);
  identity += "src_vocab_checksum = " + corpus->manifest().source.vocab_checksum + "\n";
  identity += "tgt_vocab_checksum = " + corpus->manifest().target.vocab_checksum + "\n";
  identity += "train_examples = " + std::to_string(corpus->manifest().examples("train")) + "\n";
  identity += "valid_examples = " + std::to_string(corpus->manifest().examples("valid")) + "\n";
  require_agreement(world, "configuration", identity);

  if (leader) {
    std::filesystem::create_directories(config.run_dir);
    data::write_file_atomically(config.run_dir + "/config.ini", config_text(config));
    std::fprintf(
        stderr,
        "tandem-train: %d rank(s) x %d thread(s); configuration (also in %s/config.ini):\n%s",
        world.size(), omp_get_max_threads(), config.run_dir.c_str(), config_text(config).c_str());
  }

  // From here on a rank that stops answering ends the job instead of hanging it.
  CollectiveWatchdog watchdog(world.rank(), world.size(),
                              world.size() > 1 ? config.run_dir + "/heartbeat" : "",
                              config.collective_timeout);
  struct Unwatch {
    MpiWorld& world;
    ~Unwatch() { world.set_watchdog(nullptr); }
  } unwatch{world};
  if (world.size() > 1) world.set_watchdog(&watchdog);

  ops::DnnlContext ctx;
  Seq2SeqModel model(config.model, ctx);
  ops::ParamStore& params = model.params();
  model.initialize(config.seed);
  world.broadcast(params.values(), params.total_size(), 0);  // rank 0's parameters everywhere
  params.mark_values_changed();
  say("parameters: " + std::to_string(params.parameter_count()));

  TrainStepConfig step_config;
  step_config.optimizer = config.optimizer;
  step_config.learning_rate = static_cast<float>(config.schedule.base_lr);
  step_config.clip_norm = config.clip_norm;
  step_config.seed = config.seed;
  step_config.rank = world.rank();
  Trainer trainer(model, step_config);
  LrSchedule schedule(config.schedule);
  std::unique_ptr<BucketedAllReduce> reducer;
  if (world.size() > 1) {
    reducer = std::make_unique<BucketedAllReduce>(
        world, params, static_cast<size_t>(config.bucket_mb * (1 << 20)));
    trainer.set_gradient_reducer(reducer.get());
  }

  data::LoaderOptions train_options;
  train_options.batch_tokens = config.batch_tokens;
  train_options.batch_size = config.batch_size;
  train_options.pool = config.pool;
  train_options.seed = config.seed;
  train_options.rank = world.rank();
  train_options.ranks = world.size();
  data::LoaderOptions valid_options = train_options;
  valid_options.shuffle = false;
  std::optional<data::BatchLoader> train_loader, valid_loader;
  collective_try(world, [&] {
    train_loader.emplace(*corpus, "train", train_options);
    if (corpus->manifest().examples("valid") > 0)
      valid_loader.emplace(*corpus, "valid", valid_options);
  });
  std::optional<ValidationDecoder> valid_decoder;
  collective_try(world, [&] {
    if (!config.valid_decode && config.valid_metric == ValidMetric::kLoss) return;
    require_config(valid_loader.has_value(), config.valid_decode ? "valid-decode" : "valid-metric",
                   "the corpus has no validation split to decode");
    valid_decoder.emplace(*corpus, config.valid_beam, 32);
  });

  std::ofstream metrics;
  if (leader) {
    metrics.open(config.run_dir + "/metrics.jsonl", std::ios::app);
    if (!metrics) throw IoError(config.run_dir + "/metrics.jsonl: cannot open for writing");
  }
  auto write_metrics = [&](const nlohmann::json& line) {
    if (!leader) return;
    metrics << line.dump() << "\n";
    metrics.flush();
  };

  // What one blocking all-reduce of the whole gradient buffer costs here: the yardstick for
  // how much of the bucketed, overlapped all-reduce stays hidden behind backward.
  double blocking_allreduce_s = 0.0;
  if (world.size() > 1) {
    world.barrier();
    const auto start = std::chrono::steady_clock::now();
    check_mpi(MPI_Allreduce(MPI_IN_PLACE, params.grads(), static_cast<int>(params.total_size()),
                            MPI_FLOAT, MPI_SUM, world.comm()),
              "MPI_Allreduce");
    blocking_allreduce_s =
        world.max(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  write_metrics({{"type", "start"},
                 {"ranks", world.size()},
                 {"threads", omp_get_max_threads()},
                 {"parameters", params.parameter_count()},
                 {"gradient_bytes", params.total_size() * sizeof(float)},
                 {"allreduce_blocking_s", blocking_allreduce_s}});

  // Steps of the current epoch, and whether this process saw it begin (a resumed run may
  // start exactly at an epoch's end, where the first step finds no data).
  int64_t steps_this_epoch = 0;
  bool epoch_begun_here = true;
  int64_t epoch = 0, consecutive_skips = 0, total_skips = 0, validations_without_improvement = 0;
  const std::string checkpoint_directory = config.run_dir + "/checkpoints";
  CheckpointIdentity checkpoint_identity;
  for (const auto& [key, value] : to_key_values(config.model))
    checkpoint_identity.model_config += key + " = " + value + "\n";
  checkpoint_identity.run_config = config_text(config);
  checkpoint_identity.src_vocab_checksum = corpus->manifest().source.vocab_checksum;
  checkpoint_identity.tgt_vocab_checksum = corpus->manifest().target.vocab_checksum;
  checkpoint_identity.optimizer = ops::optimizer_kind_name(config.optimizer.kind);

  // Resume: rank 0 finds the newest checkpoint that verifies and sends it to everyone.
  if (config.resume != "none") {
    const auto load_start = std::chrono::steady_clock::now();
    std::optional<LoadedCheckpoint> loaded;
    collective_try(world, [&] {
      if (!leader) return;
      CheckpointIdentity expected = checkpoint_identity;
      if (config.reset_optimizer) expected.optimizer.clear();
      const std::vector<std::string> candidates = config.resume == "auto"
                                                      ? checkpoint_candidates(checkpoint_directory)
                                                      : std::vector<std::string>{config.resume};
      for (const std::string& candidate : candidates) {
        CheckpointProblem problem;
        loaded = load_checkpoint(candidate, params, expected, problem);
        if (loaded) break;
        if (problem.incompatible || config.resume != "auto")
          throw ConfigError("resume: " + problem.message);
        std::fprintf(stderr, "tandem-train: skipping checkpoint %s; trying an older one\n",
                     problem.message.c_str());
      }
      // Another rank count: the rest of the epoch becomes a remainder plan over the new ranks,
      // once per epoch (a second change would need the first one's cursors too).
      if (loaded && static_cast<int>(loaded->state.cursors.size()) != world.size() &&
          !loaded->state.origin.empty())
        throw ConfigError("resume: " + loaded->path + " is in the middle of epoch " +
                          std::to_string(loaded->state.epoch) +
                          ", which was already resumed with another rank count (" +
                          std::to_string(loaded->state.origin.ranks) + " -> " +
                          std::to_string(loaded->state.cursors.size()) + "); resume it with " +
                          std::to_string(loaded->state.cursors.size()) +
                          " rank(s) until that epoch ends");
    });
    std::vector<int64_t> header{loaded ? 1 : 0, 0, 0};
    if (loaded)
      header = {1, static_cast<int64_t>(loaded->first_moment.size()),
                static_cast<int64_t>(loaded->second_moment.size())};
    world.broadcast(header.data(), header.size(), 0);
    if (header[0] == 1) {
      if (!leader) {
        loaded.emplace();
        loaded->values.resize(params.total_size());
        loaded->first_moment.resize(static_cast<size_t>(header[1]));
        loaded->second_moment.resize(static_cast<size_t>(header[2]));
      }
      world.broadcast(loaded->values.data(), loaded->values.size(), 0);
      world.broadcast(loaded->first_moment.data(), loaded->first_moment.size(), 0);
      world.broadcast(loaded->second_moment.data(), loaded->second_moment.size(), 0);
      std::vector<int64_t> packed = leader ? pack_state(loaded->state) : std::vector<int64_t>{};
      int64_t packed_size = static_cast<int64_t>(packed.size());
      world.broadcast(&packed_size, 1, 0);
      packed.resize(static_cast<size_t>(packed_size));
      world.broadcast(packed.data(), packed.size(), 0);
      const TrainingState state = unpack_state(packed);
      std::copy(loaded->values.begin(), loaded->values.end(), params.values());
      params.mark_values_changed();
      ops::Optimizer& optimizer = trainer.optimizer();
      std::copy(loaded->first_moment.begin(), loaded->first_moment.end(),
                optimizer.first_moment().begin());
      std::copy(loaded->second_moment.begin(), loaded->second_moment.end(),
                optimizer.second_moment().begin());
      optimizer.set_step_count(state.optimizer_steps);
      trainer.set_step(state.step);
      schedule.restore(state.plateau_scale, state.best_validation, state.schedule_bad_evaluations);
      epoch = state.epoch;
      epoch_begun_here = false;
      consecutive_skips = state.consecutive_skips;
      total_skips = state.total_skips;
      validations_without_improvement = state.validations_without_improvement;
      const bool same_ranks = static_cast<int>(state.cursors.size()) == world.size();
      collective_try(world, [&] {
        if (same_ranks)
          train_loader->seek(state.cursors[static_cast<size_t>(world.rank())], state.origin);
        else
          train_loader->seek(
              {state.epoch, 0, 0},
              data::EpochOrigin{static_cast<int64_t>(state.cursors.size()), state.cursors});
      });
      if (!same_ranks)
        say("tandem-train: the checkpoint was written by " + std::to_string(state.cursors.size()) +
            " rank(s): the rest of epoch " + std::to_string(state.epoch) +
            " (every example not yet seen, once) is split over " + std::to_string(world.size()));
      if (leader)
        say("tandem-train: resumed from " + loaded->path + " at step " +
            std::to_string(state.step) + ", epoch " + std::to_string(state.epoch) + " in " +
            number_text(std::round(seconds_since(load_start) * 1000) / 1000) + " s");
      write_metrics({{"type", "resume"},
                     {"step", state.step},
                     {"epoch", state.epoch},
                     {"path", leader ? loaded->path : ""}});
    }
  }

  int64_t last_saved_step = -1;
  auto last_save = std::chrono::steady_clock::now();
  // Collective: gathers every rank's cursor; rank 0 writes. A failure is the same error everywhere.
  auto save = [&](bool is_best) {
    const data::LoaderCursor cursor = train_loader->cursor();
    const std::vector<uint64_t> fields[3] = {world.all_gather(static_cast<uint64_t>(cursor.epoch)),
                                             world.all_gather(static_cast<uint64_t>(cursor.window)),
                                             world.all_gather(static_cast<uint64_t>(cursor.batch))};
    TrainingState state;
    state.origin = train_loader->origin();
    state.step = trainer.step();
    state.epoch = epoch;
    state.optimizer_steps = trainer.optimizer().step_count();
    state.consecutive_skips = consecutive_skips;
    state.total_skips = total_skips;
    state.validations_without_improvement = validations_without_improvement;
    state.plateau_scale = schedule.plateau_scale();
    state.best_validation = schedule.best_validation();
    state.schedule_bad_evaluations = schedule.evaluations_without_improvement();
    for (int r = 0; r < world.size(); ++r)
      state.cursors.push_back({static_cast<int64_t>(fields[0][static_cast<size_t>(r)]),
                               static_cast<int64_t>(fields[1][static_cast<size_t>(r)]),
                               static_cast<int64_t>(fields[2][static_cast<size_t>(r)])});
    const auto start = std::chrono::steady_clock::now();
    std::string name;
    collective_try(world, [&] {
      if (leader)
        name = save_checkpoint(checkpoint_directory, params, trainer.optimizer(), state,
                               checkpoint_identity, is_best, config.keep);
    });
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    last_saved_step = trainer.step();
    last_save = std::chrono::steady_clock::now();
    if (leader)
      say("checkpoint " + checkpoint_directory + "/" + name + (is_best ? " (best)" : "") + " in " +
          number_text(std::round(seconds * 1000) / 1000) + " s");
    write_metrics({{"type", "checkpoint"},
                   {"step", trainer.step()},
                   {"file", name},
                   {"best", is_best},
                   {"seconds", seconds}});
  };

  const auto run_start = std::chrono::steady_clock::now();
  Interval interval;
  int exit_code = kExitDone;
  std::string stop_reason = "step limit";
  auto run_validation = [&]() -> bool {  // returns true if early stopping says stop
    if (!valid_loader) return false;
    const auto [loss, tokens] = validate(world, model, *valid_loader);
    nlohmann::json record = {{"type", "valid"}, {"step", trainer.step()}, {"epoch", epoch},
                             {"loss", loss},    {"ppl", std::exp(loss)},  {"tokens", tokens}};
    char line[300];
    int used =
        std::snprintf(line, sizeof line, "validation step %lld | epoch %lld | loss %.4f | ppl %.3f",
                      static_cast<long long>(trainer.step()), static_cast<long long>(epoch), loss,
                      std::exp(loss));
    // The schedule keeps the lowest value as the best: scores where higher is better enter negated.
    double observed = loss;
    if (valid_decoder) {
      const auto start = std::chrono::steady_clock::now();
      std::string share;
      collective_try(
          world, [&] { share = valid_decoder->decode_share(world.rank(), world.size(), model); });
      const ValidationScores scores = valid_decoder->score(world, share);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      used += std::snprintf(
          line + used, sizeof line - static_cast<size_t>(used),
          " | wer %.2f | per %.2f | bleu %.2f | chrf %.2f | decoded %lld in %.1f s", scores.wer,
          scores.per, scores.bleu, scores.chrf, static_cast<long long>(scores.sentences), seconds);
      record.update({{"wer", scores.wer},
                     {"per", scores.per},
                     {"bleu", scores.bleu},
                     {"chrf", scores.chrf},
                     {"decoded", scores.sentences},
                     {"decode_seconds", seconds}});
      if (config.valid_metric != ValidMetric::kLoss) {
        observed = scores.value(config.valid_metric);
        if (higher_is_better(config.valid_metric)) observed = -observed;
      }
    }
    const bool best = schedule.observe_validation(observed);
    validations_without_improvement = best ? 0 : validations_without_improvement + 1;
    record["best"] = best;
    record["metric"] = valid_metric_name(config.valid_metric);
    say(std::string(line) + (best ? " | best" : ""));
    write_metrics(record);
    if (best) save(true);  // the best model by validation is kept whatever --keep says
    return config.early_stopping > 0 && validations_without_improvement >= config.early_stopping;
  };

  while (true) {
    watchdog.set_step(trainer.step());
    // Agreed stop: a preemption signal or SIGINT on any rank, or the time limit by the slowest
    // clock. Every stop ends with a checkpoint (after the loop).
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
    const double stop_votes =
        world.max(preemption_requested                                             ? 3.0
                  : stop_requested                                                 ? 2.0
                  : (config.max_minutes > 0 && elapsed >= config.max_minutes * 60) ? 1.0
                                                                                   : 0.0);
    if (stop_votes >= 3.0) {
      stop_reason = "preempted (signal): requeue to resume";
      exit_code = kExitRequeue;
      break;
    }
    if (stop_votes >= 2.0) {
      stop_reason = "interrupted (SIGINT)";
      exit_code = kExitInterrupted;
      break;
    }
    if (stop_votes >= 1.0) {
      stop_reason = "time limit";
      break;
    }
    const double since_save =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count();
    if (trainer.step() > 0 && trainer.step() > last_saved_step &&
        ((config.save_every > 0 && trainer.step() % config.save_every == 0) ||
         (config.save_every_minutes > 0 &&
          world.max(since_save) >= config.save_every_minutes * 60)))
      save(false);
    if (config.max_steps > 0 && trainer.step() >= config.max_steps) break;

    // This rank's micro-batches (none once its share of the epoch is used up). Agreed, so a
    // corrupt shard on one rank stops every rank with its message.
    const auto data_start = std::chrono::steady_clock::now();
    std::vector<data::Batch> micro_batches;
    collective_try(world, [&] {
      for (int i = 0; i < config.accumulation; ++i) {
        std::optional<data::Batch> batch = train_loader->next();
        if (!batch) break;
        interval.real_tokens += train_loader->last_padding().real_tokens;
        interval.padded_tokens += train_loader->last_padding().padded_tokens;
        micro_batches.push_back(std::move(*batch));
      }
    });
    std::vector<const data::Batch*> pointers;
    for (const data::Batch& batch : micro_batches) pointers.push_back(&batch);
    interval.data_wait +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - data_start).count();

    trainer.set_learning_rate(static_cast<float>(schedule.rate(trainer.step())));
    const StepResult result = trainer.train_step(pointers);
    if (result.empty) {  // every rank's share is used up: the epoch is over everywhere
      // An epoch without a single batch would repeat for ever (every example over the length
      // or token limits, say): stop with the reason instead.
      if (steps_this_epoch == 0 && epoch_begun_here)
        throw DistributedError("epoch " + std::to_string(epoch) +
                               " has no batches on any rank: no training example fits "
                               "--batch-tokens/--batch-size");
      steps_this_epoch = 0;
      epoch_begun_here = true;
      // Start the next epoch first, so a checkpoint taken from here on (validation's best,
      // the final one) holds a cursor of the epoch it names.
      ++epoch;
      train_loader->start_epoch(epoch);
      if (config.valid_every == 0 && run_validation()) {
        stop_reason = "early stopping";
        break;
      }
      if (config.max_epochs > 0 && epoch >= config.max_epochs) {
        stop_reason = "epoch limit";
        break;
      }
      continue;
    }
    ++steps_this_epoch;
    if (result.skipped) {
      ++total_skips;
      if (++consecutive_skips >= config.max_skips)
        throw DistributedError("non-finite loss or gradient in " +
                               std::to_string(consecutive_skips) +
                               " consecutive steps (last: step " + std::to_string(trainer.step()) +
                               "); lower --lr or raise --clip-norm");
      say("step " + std::to_string(trainer.step()) +
          ": non-finite loss or gradient on some rank; update skipped");
    } else {
      consecutive_skips = 0;
      interval.loss += result.global.loss;
      interval.tokens += result.global.tokens;
    }
    ++interval.steps;
    interval.compute += trainer.compute_seconds();
    interval.reduce += trainer.reduce_seconds();
    interval.update += trainer.update_seconds();
    if (reducer) interval.early += reducer->launched_early_fraction();

    const int64_t step = trainer.step();
    if (config.replica_check_every > 0 && step % config.replica_check_every == 0) {
      const auto sums = world.all_gather(bit_checksum(params.values(), params.total_size()));
      for (size_t r = 1; r < sums.size(); ++r)
        if (sums[r] != sums[0])
          throw DistributedError("replicas diverged at step " + std::to_string(step) + ": rank " +
                                 std::to_string(r) + " holds different parameters than rank 0");
    }
    if (step % config.log_every == 0) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - interval.start).count();
      const double step_time = wall / static_cast<double>(interval.steps);
      const auto times = world.all_gather(static_cast<uint64_t>(step_time * 1e9));
      const auto slowest = std::max_element(times.begin(), times.end());
      std::vector<double> padding{static_cast<double>(interval.real_tokens),
                                  static_cast<double>(interval.padded_tokens)};
      world.sum(padding);
      const double loss =
          interval.tokens ? interval.loss / static_cast<double>(interval.tokens) : 0.0;
      const double run_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
      double eta = -1;
      if (config.max_steps > 0) eta = step_time * static_cast<double>(config.max_steps - step);
      if (config.max_minutes > 0)
        eta = std::min(eta < 0 ? 1e30 : eta, config.max_minutes * 60 - run_seconds);
      const double padding_efficiency = padding[1] > 0 ? padding[0] / padding[1] : 1.0;
      char line[320];
      std::snprintf(line, sizeof line,
                    "step %lld | epoch %lld | loss %.4f | ppl %.3f | lr %.2e | gnorm %.3f | %.0f "
                    "tok/s | pad %.3f | "
                    "eta %s",
                    static_cast<long long>(step), static_cast<long long>(epoch), loss,
                    std::exp(loss), trainer.learning_rate(), result.grad_norm,
                    static_cast<double>(interval.tokens) / wall, padding_efficiency,
                    duration_text(eta).c_str());
      say(line);
      const double n = static_cast<double>(interval.steps);
      write_metrics({{"type", "train"},
                     {"step", step},
                     {"epoch", epoch},
                     {"loss", loss},
                     {"ppl", std::exp(loss)},
                     {"lr", trainer.learning_rate()},
                     {"grad_norm", result.grad_norm},
                     {"tokens_per_s", static_cast<double>(interval.tokens) / wall},
                     {"padding_efficiency", padding_efficiency},
                     {"elapsed_s", run_seconds},
                     {"eta_s", eta},
                     {"step_s", step_time},
                     {"time_s",
                      {{"data_wait", interval.data_wait / n},
                       {"forward_backward", interval.compute / n},
                       {"allreduce_wait", interval.reduce / n},
                       {"optimizer", interval.update / n}}},
                     {"allreduce_started_early", reducer ? interval.early / n : 0.0},
                     {"slowest_rank", slowest - times.begin()},
                     {"slowest_step_s", static_cast<double>(*slowest) * 1e-9},
                     {"skipped_steps", total_skips}});
      interval = Interval{};
    }
    if (config.valid_every > 0 && step % config.valid_every == 0 && run_validation()) {
      stop_reason = "early stopping";
      break;
    }
  }
  if (trainer.step() != last_saved_step) save(false);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  say("tandem-train: stopped (" + stop_reason + ") after " + std::to_string(trainer.step()) +
      " steps, " + std::to_string(epoch) + " epoch(s), " + duration_text(seconds));
  write_metrics({{"type", "end"},
                 {"step", trainer.step()},
                 {"epoch", epoch},
                 {"reason", stop_reason},
                 {"elapsed_s", seconds},
                 {"skipped_steps", total_skips},
                 {"peak_rss_mib", peak_rss_mib(world)}});
  return exit_code;
}

}  // namespace tandem::trainer
