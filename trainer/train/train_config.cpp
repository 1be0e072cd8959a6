#include "trainer/train/train_config.h"

namespace tandem::trainer {
namespace {

std::string option_name(std::string key) {
  for (char& ch : key)
    if (ch == '_') ch = '-';
  return key;
}

void add_model(Settings& settings, ModelConfig& model) {
  settings.group("Model").add_all(model_settings(model), option_name, [](const std::string& key) {
    return key != "src_vocab" && key != "tgt_vocab";  // from the corpus
  });
}

void add_training(Settings& settings, TrainConfig& c) {
  settings.group("Training")
      .add("optimizer", c.optimizer.kind, ops::kOptimizerNames, "optimizer")
      .add("lr", c.schedule.base_lr, "learning rate (peak rate with warm-up)")
      .above(0, 1e3)
      .add("lr-schedule", c.schedule.kind, kScheduleNames,
           "learning-rate schedule: constant, rsqrt, step, plateau, or linear/cosine (decay to "
           "--min-lr exactly when --max-steps, --max-minutes or --max-epochs is used up)")
      .add("min-lr", c.schedule.min_lr,
           "the rate linear/cosine end at; the floor of rsqrt, step and plateau")
      .range(0, 1e3)
      .add("warmup-steps", c.schedule.warmup_steps, "linear warm-up steps")
      .at_least(0)
      .add("decay-factor", c.schedule.decay_factor, "step/plateau decay factor")
      .above(0, 1)
      .add("decay-every", c.schedule.decay_every, "step schedule: decay period")
      .at_least(1)
      .add("plateau-patience", c.schedule.plateau_patience,
           "plateau schedule: validations without improvement before decaying")
      .at_least(0)
      .add("momentum", c.optimizer.momentum, "momentum (optimizer momentum)")
      .range(0, 0.999999)
      .add("beta1", c.optimizer.beta1, "Adam beta1")
      .range(0, 0.999999)
      .add("beta2", c.optimizer.beta2, "Adam beta2")
      .range(0, 0.999999)
      .add("weight-decay", c.optimizer.weight_decay,
           "weight decay (decoupled for Adam, L2 for SGD)")
      .range(0, 1)
      .add("clip-norm", c.clip_norm, "global gradient-norm clipping (0: off)")
      .range(0, 1e9)
      .add("accum", c.accumulation, "micro-batches per step and rank")
      .range(1, 1024)
      .add("deterministic", c.deterministic,
           "bit-identical training on any number of ranks: one global batch plan, exact "
           "(fixed-point) gradient sums; needs the same --threads, build and CPU kind")
      .add("step-microbatches", c.step_microbatches,
           "with --deterministic: micro-batches per step over all ranks (the global batch); "
           "micro-batch i of a step runs on rank i mod ranks")
      .range(1, 65536)
      .add("max-steps", c.max_steps, "stop after this many steps (0: no limit)")
      .at_least(0)
      .add("max-epochs", c.max_epochs, "stop after this many epochs (0: no limit)")
      .at_least(0)
      .add("max-minutes", c.max_minutes, "stop after this much time (0: no limit)")
      .range(0, 1e8)
      .add("valid-every", c.valid_every, "validate every N steps (0: every epoch)")
      .at_least(0)
      .add("early-stopping", c.early_stopping,
           "stop after N validations without improvement (0: off)")
      .at_least(0)
      .add("valid-metric", c.valid_metric, kValidMetricNames,
           "what picks the best checkpoint and drives early stopping: the validation loss, or a "
           "score of the decoded validation set")
      .add("valid-decode", c.valid_decode,
           "decode and score the validation set at every validation (implied by a "
           "--valid-metric other than loss)")
      .add("valid-beam", c.valid_beam, "beam size for validation decoding (1: greedy)")
      .range(1, 100);
}

void add_run(Settings& settings, TrainConfig& c) {
  settings.group("Run")
      .add("run-dir", c.run_dir, "directory for config.ini, metrics.jsonl and checkpoints/")
      .add("log-every", c.log_every, "steps between progress lines / metrics")
      .at_least(1)
      .add("replica-check-every", c.replica_check_every,
           "steps between parameter checksum comparisons across ranks (0: off)")
      .at_least(0)
      .add("max-skips", c.max_skips, "stop after N non-finite steps in a row")
      .at_least(1)
      .add("bucket-mb", c.bucket_mb,
           "all-reduce bucket size (MiB; --deterministic uses 1 MiB buckets of int64)")
      .above(0, 1024)
      .add("save-every", c.save_every,
           "steps between checkpoints (0: only at the end and on signals)")
      .at_least(0)
      .add("save-every-minutes", c.save_every_minutes,
           "also checkpoint every this many minutes (0: off)")
      .range(0, 1e8)
      .add("keep", c.keep, "checkpoints kept (plus the best by validation)")
      .range(1, 1e6)
      .add("collective-timeout", c.collective_timeout,
           "seconds a rank may wait in one collective before the job is ended with the missing "
           "ranks named (0: off)")
      .range(0, 1e7)
      .persisted(false)
      .add("resume", c.resume,
           "auto (the newest verified checkpoint of the run in run-dir, if any), none (a new "
           "run: refused where run-dir holds another run, unless --fresh), or a file")
      .add_switch("fresh", c.fresh,
                  "start a new run in run-dir: an earlier run there (its checkpoints, metrics, "
                  "config.ini) is first moved into run-dir/previous/RUN-ID/, never deleted")
      .add_switch("skip-memory-check", c.skip_memory_check,
                  "start even if the memory estimate printed at start exceeds the memory a rank "
                  "has (the node's available memory / ranks on it, cgroup and ulimit -v limits)")
      .add_switch("reset-optimizer", c.reset_optimizer,
                  "on resume, keep parameters and counters but start the optimizer afresh")
      .add("threads", c.threads,
           "OpenMP threads per rank (0: the node's cores / ranks on the node, capped by the CPU "
           "binding)")
      .range(0, 4096)
      .persisted(true);
}

}  // namespace

Settings train_settings(TrainConfig& c) {
  Settings settings;
  settings.group("Data")
      .add("corpus", c.corpus, "corpus directory made by tandem-prep")
      .add("batch-tokens", c.batch_tokens,
           "token budget per micro-batch and rank: N x longest padded side (0: use --batch-size)")
      .range(0, 1e9)
      .add("batch-size", c.batch_size, "sentences per micro-batch, if no token budget")
      .range(0, 1e7)
      .add("pool", c.pool, "batches per length-bucketing window")
      .range(1, 1e6)
      .add("seed", c.seed, "seed of initialisation, data order, dropout")
      .add_parsed("init", c.init, ops::init_policy_text, ops::parse_init_policy,
                  "initial weights: layers (each layer's own scales, docs/model.md), uniform:S "
                  "(every parameter U(-S, S), OpenNMT-py's param_init) or xavier (matrices "
                  "Xavier-uniform, vectors zero)");
  add_model(settings, c.model);
  add_training(settings, c);
  add_run(settings, c);
  return settings;
}

std::string config_text(const TrainConfig& config) {
  TrainConfig copy = config;
  return key_value_text(train_settings(copy).key_values());
}

}  // namespace tandem::trainer
