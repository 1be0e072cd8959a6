// tandem-train: distributed training under mpirun/srun (one rank works too). The command line
// and an optional INI file (--config; the command line wins) fill a TrainConfig; the loop is
// trainer/train_loop.cpp. Exit codes: see trainer/train_loop.h and docs/training.md.
#include <omp.h>

#include <unistd.h>
#include <boost/program_options.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <vector>

#include "ops/errors.h"
#include "trainer/model_config.h"
#include "trainer/mpi_world.h"
#include "trainer/train_loop.h"

namespace {

namespace po = boost::program_options;
using namespace tandem;

struct Cli {
  trainer::TrainConfig config;
  std::string cell, attention, decoder_init, optimizer, schedule, precision, valid_metric;
  std::string config_file, checkpoint_signals;
  std::vector<int> signals;  // parsed checkpoint_signals
  int stop_deadline = 0;
  bool help = false;
};

po::options_description describe(Cli& cli) {
  trainer::TrainConfig& c = cli.config;
  po::options_description data("Data");
  data.add_options()("corpus", po::value(&c.corpus), "corpus directory made by tandem-prep")(
      "batch-tokens", po::value(&c.batch_tokens)->default_value(2048),
      "token budget per micro-batch and rank: N x longest padded side (0: use --batch-size)")(
      "batch-size", po::value(&c.batch_size)->default_value(0),
      "sentences per micro-batch, if no token budget")(
      "pool", po::value(&c.pool)->default_value(20), "batches per length-bucketing window")(
      "seed", po::value(&c.seed)->default_value(1), "seed of initialisation, data order, dropout");
  po::options_description model("Model");
  model.add_options()("cell", po::value(&cli.cell)->default_value("lstm"),
                      "lstm, gru, lbr_gru or rnn_tanh")(
      "embedding-size", po::value(&c.model.embedding_size)->default_value(128),
      "embedding size (both sides)")(
      "hidden-size", po::value(&c.model.hidden_size)->default_value(256),
      "decoder hidden size = encoder output size (half per direction when bidirectional)")(
      "encoder-layers", po::value(&c.model.encoder_layers)->default_value(1), "encoder RNN layers")(
      "decoder-layers", po::value(&c.model.decoder_layers)->default_value(1), "decoder RNN layers")(
      "bidirectional", po::value(&c.model.bidirectional_encoder)->default_value(true),
      "bidirectional encoder")("attention", po::value(&cli.attention)->default_value("general"),
                               "none, dot, general or additive")(
      "decoder-init", po::value(&cli.decoder_init)->default_value("final"),
      "final (encoder's final states; equal layer counts) or bridge")(
      "dropout", po::value(&c.model.dropout)->default_value(0.0f),
      "dropout on embeddings and RNN outputs")(
      "label-smoothing", po::value(&c.model.label_smoothing)->default_value(0.0f),
      "label smoothing epsilon")("teacher-forcing",
                                 po::value(&c.model.teacher_forcing_ratio)->default_value(1.0f),
                                 "teacher-forcing ratio; below 1: scheduled sampling")(
      "input-feeding", po::value(&c.model.input_feeding)->default_value(false),
      "feed the previous attentional vector to the decoder")(
      "precision", po::value(&cli.precision)->default_value("f32"),
      "f32, or bf16: mixed precision (bf16 compute in the RNNs, W_c and the output layer; f32 "
      "master weights, gradients and optimizer state), ~1.4x faster on AVX512-BF16 CPUs");
  po::options_description training("Training");
  training.add_options()("optimizer", po::value(&cli.optimizer)->default_value("adam"),
                         "sgd, momentum or adam")(
      "lr", po::value(&c.schedule.base_lr)->default_value(1e-3),
      "learning rate (peak rate with warm-up)")("lr-schedule",
                                                po::value(&cli.schedule)->default_value("constant"),
                                                "constant, rsqrt, step or plateau")(
      "warmup-steps", po::value(&c.schedule.warmup_steps)->default_value(0),
      "linear warm-up steps")("decay-factor",
                              po::value(&c.schedule.decay_factor)->default_value(0.5),
                              "step/plateau decay factor")(
      "decay-every", po::value(&c.schedule.decay_every)->default_value(10000),
      "step schedule: decay period")(
      "plateau-patience", po::value(&c.schedule.plateau_patience)->default_value(2),
      "plateau schedule: validations without improvement before decaying")(
      "momentum", po::value(&c.optimizer.momentum)->default_value(0.9f),
      "momentum (optimizer momentum)")("beta1", po::value(&c.optimizer.beta1)->default_value(0.9f),
                                       "Adam beta1")(
      "beta2", po::value(&c.optimizer.beta2)->default_value(0.999f), "Adam beta2")(
      "weight-decay", po::value(&c.optimizer.weight_decay)->default_value(0.0f),
      "weight decay (decoupled for Adam, L2 for SGD)")("clip-norm",
                                                       po::value(&c.clip_norm)->default_value(5.0),
                                                       "global gradient-norm clipping (0: off)")(
      "accum", po::value(&c.accumulation)->default_value(1), "micro-batches per step and rank")(
      "max-steps", po::value(&c.max_steps)->default_value(0),
      "stop after this many steps (0: no limit)")("max-epochs",
                                                  po::value(&c.max_epochs)->default_value(0),
                                                  "stop after this many epochs (0: no limit)")(
      "max-minutes", po::value(&c.max_minutes)->default_value(0.0),
      "stop after this much time (0: no limit)")("valid-every",
                                                 po::value(&c.valid_every)->default_value(0),
                                                 "validate every N steps (0: every epoch)")(
      "early-stopping", po::value(&c.early_stopping)->default_value(0),
      "stop after N validations without improvement (0: off)")(
      "valid-metric", po::value(&cli.valid_metric)->default_value("loss"),
      "what picks the best checkpoint and drives early stopping: loss, or a score of the decoded "
      "validation set: wer, per, bleu, chrf")(
      "valid-decode", po::value(&c.valid_decode)->default_value(false),
      "decode and score the validation set at every validation (implied by a --valid-metric "
      "other than loss)")("valid-beam", po::value(&c.valid_beam)->default_value(1),
                          "beam size for validation decoding (1: greedy)");
  po::options_description run("Run");
  run.add_options()("run-dir", po::value(&c.run_dir)->default_value("run"),
                    "directory for config.ini and metrics.jsonl")(
      "log-every", po::value(&c.log_every)->default_value(50),
      "steps between progress lines / metrics")(
      "replica-check-every", po::value(&c.replica_check_every)->default_value(100),
      "steps between parameter checksum comparisons across ranks (0: off)")(
      "max-skips", po::value(&c.max_skips)->default_value(10),
      "stop after N non-finite steps in a row")(
      "bucket-mb", po::value(&c.bucket_mb)->default_value(16.0), "all-reduce bucket size (MiB)")(
      "save-every", po::value(&c.save_every)->default_value(1000),
      "steps between checkpoints (0: only at the end and on signals)")(
      "save-every-minutes", po::value(&c.save_every_minutes)->default_value(0.0),
      "also checkpoint every this many minutes (0: off)")(
      "keep", po::value(&c.keep)->default_value(3),
      "checkpoints kept (plus the best by validation)")(
      "resume", po::value(&c.resume)->default_value("auto"),
      "auto (the newest verified checkpoint in run-dir/checkpoints, if any), none, or a file")(
      "reset-optimizer", po::bool_switch(&c.reset_optimizer),
      "on resume, keep parameters and counters but start the optimizer afresh")(
      "checkpoint-signals", po::value(&cli.checkpoint_signals)->default_value("TERM,USR1"),
      "signals that mean \"checkpoint at the next step and exit 75 (requeue me)\"")(
      "stop-deadline", po::value(&cli.stop_deadline)->default_value(300),
      "seconds after such a signal before the process exits regardless")(
      "collective-timeout", po::value(&c.collective_timeout)->default_value(300.0),
      "seconds a rank may wait in one collective before the job is ended with the missing "
      "ranks named (0: off)")(
      "threads", po::value(&c.threads)->default_value(0),
      "OpenMP threads per rank (0: the node's cores / ranks on the node, capped by the CPU "
      "binding)")("config", po::value(&cli.config_file),
                  "INI file with any of these options (the command line wins)")(
      "help,h", po::bool_switch(&cli.help), "show this help");
  po::options_description all(
      "tandem-train: train a Seq2Seq model, data-parallel over MPI ranks\n\n"
      "  mpirun -np 2 --bind-to core tandem-train --corpus corpus/ --max-epochs 10\n"
      "  tandem-train --config run.ini --lr 5e-4\n");
  all.add(data).add(model).add(training).add(run);
  return all;
}

void on_sigint(int) {
  trainer::request_stop();
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

int stop_deadline_seconds = 300;

// Preemption (SLURM's --signal, a scheduler's SIGTERM): checkpoint at the next step boundary and
// exit 75. A second signal kills at once; so does the deadline (SIGALRM's default action).
void on_preemption(int signal) {
  trainer::request_preemption();
  std::signal(signal, SIG_DFL);
  alarm(static_cast<unsigned>(stop_deadline_seconds));
}

// "TERM,USR1" -> signal numbers. ConfigError naming the option for an unknown name.
std::vector<int> parse_signals(const std::string& names) {
  std::vector<int> signals;
  std::stringstream list(names);
  std::string name;
  while (std::getline(list, name, ',')) {
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (name == "TERM")
      signals.push_back(SIGTERM);
    else if (name == "USR1")
      signals.push_back(SIGUSR1);
    else if (name == "USR2")
      signals.push_back(SIGUSR2);
    else if (name == "HUP")
      signals.push_back(SIGHUP);
    else if (!name.empty())
      throw ConfigError("checkpoint-signals: unknown signal '" + name +
                        "' (TERM, USR1, USR2, HUP)");
  }
  return signals;
}

// Parses the command line (and INI file) into cli.config. Throws po::error / ConfigError.
void parse(int argc, char** argv, Cli& cli, po::options_description& options) {
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  if (vm.count("config") && !vm["config"].as<std::string>().empty()) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream file(path);
    if (!file) throw IoError(path + ": cannot open the configuration file");
    po::store(po::parse_config_file(file, options), vm);  // does not override the command line
  }
  po::notify(vm);
  trainer::ModelConfig& m = cli.config.model;
  m.cell = trainer::parse_cell_kind(cli.cell);
  m.attention = trainer::parse_attention_type(cli.attention);
  m.decoder_init = trainer::parse_decoder_init(cli.decoder_init);
  m.precision = trainer::parse_precision(cli.precision);
  cli.config.optimizer.kind = ops::parse_optimizer_kind(cli.optimizer);
  cli.config.schedule.kind = trainer::parse_schedule_kind(cli.schedule);
  cli.config.valid_metric = trainer::parse_valid_metric(cli.valid_metric);
  cli.signals = parse_signals(cli.checkpoint_signals);
}

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<trainer::MpiWorld> world;
  try {
    world = std::make_unique<trainer::MpiWorld>(&argc, &argv);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tandem-train: error: %s\n", error.what());
    return trainer::kExitError;
  }
  const bool leader = world->rank() == 0;
  // Errors every rank has (bad options on all of them, agreed failures): one message, clean exit.
  auto agreed_error = [&](const std::string& message, int code) {
    if (leader) std::fprintf(stderr, "tandem-train: error: %s\n", message.c_str());
    return code;
  };
  try {
    Cli cli;
    po::options_description options = describe(cli);
    std::string parse_error;
    try {
      parse(argc, argv, cli, options);
    } catch (const std::exception& error) {
      parse_error = error.what();
    }
    // Options may differ per rank (MPMD launches): agree before anyone acts on them.
    for (const std::string& message : world->all_gather(parse_error))
      if (!message.empty()) return agreed_error(message + " (see --help)", trainer::kExitUsage);
    if (cli.help) {
      if (leader) std::cout << options << "\n";
      return trainer::kExitDone;
    }
    omp_set_num_threads(trainer::threads_per_rank(cli.config.threads, world->local_size()));
    std::signal(SIGINT, on_sigint);
    stop_deadline_seconds = cli.stop_deadline;
    for (int signal : cli.signals) std::signal(signal, on_preemption);
    return trainer::run_training(*world, cli.config);
  } catch (const ConfigError& error) {
    return agreed_error(error.what(), trainer::kExitUsage);
  } catch (const DistributedError& error) {
    return agreed_error(error.what(), trainer::kExitError);
  } catch (const std::exception& error) {
    // A failure on this rank alone: the others cannot learn of it, so end the whole job.
    std::fprintf(stderr, "tandem-train: error: rank %d: %s\n", world->rank(), error.what());
    if (world->size() > 1) world->abort(trainer::kExitError);
    return trainer::kExitError;
  }
}
