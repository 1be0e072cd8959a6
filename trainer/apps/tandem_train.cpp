// tandem-train: distributed training under mpirun/srun (one rank works too). The command line
// and an optional INI file (--config; the command line wins) fill a TrainConfig through its
// settings table (trainer/train/train_config.h); the run is trainer/train/training_run.cpp.
// Exit codes: ops/exit_codes.h and docs/training.md.
#include <iostream>
#include <vector>

#include "ops/exit_codes.h"
#include "trainer/apps/mpi_program_main.h"
#include "trainer/apps/program_main.h"
#include "trainer/apps/stop_signals.h"
#include "trainer/train/training_run.h"

namespace {

using namespace tandem;

// What the process needs besides the run's configuration.
struct Cli {
  trainer::TrainConfig config;
  std::string config_file;
  std::string checkpoint_signals = "TERM,USR1";
  int stop_deadline = 300;
  bool help = false;
};

Settings cli_settings(Cli& cli) {
  Settings settings = trainer::train_settings(cli.config);
  settings.group("Run")
      .persisted(false)
      .add("checkpoint-signals", cli.checkpoint_signals,
           "signals that mean \"checkpoint at the next step and exit 75 (requeue me)\"")
      .add("stop-deadline", cli.stop_deadline,
           "seconds after such a signal before the process exits regardless")
      .range(1, 1e6)
      .add("config", cli.config_file, "INI file with any of these options (the command line wins)")
      .add_switch("help,h", cli.help, "show this help");
  return settings;
}

constexpr const char* kCaption =
    "tandem-train: train a Seq2Seq model, data-parallel over MPI ranks\n\n"
    "  mpirun -np 2 --bind-to core tandem-train --corpus corpus/ --max-epochs 10\n"
    "  tandem-train --config run.ini --lr 5e-4\n";

int train(int argc, char** argv, trainer::MpiWorld& world) {
  Cli cli;
  const Settings settings = cli_settings(cli);
  const auto options = apps::options_of(settings, kCaption);
  std::vector<int> signals;
  // Options may differ per rank (MPMD launches): agree before anyone acts on them.
  apps::parse_agreed(world, [&] {
    apps::parse_options(argc, argv, settings, options, "config");
    signals = apps::parse_preemption_signals(cli.checkpoint_signals);
  });
  if (cli.help) {
    if (world.rank() == 0) std::cout << options << "\n";
    return kExitDone;
  }
  apps::set_threads(world, "tandem-train", cli.config.threads);
  apps::advise_layout(world, "tandem-train");
  apps::start_stop_signal_thread(signals, cli.stop_deadline);
  return trainer::run_training(world, cli.config);
}

}  // namespace

int main(int argc, char** argv) {
  apps::block_stop_signals();  // before any thread exists: see stop_signals.h
  return apps::run_mpi_program("tandem-train", &argc, &argv,
                               [&](trainer::MpiWorld& world) { return train(argc, argv, world); });
}
