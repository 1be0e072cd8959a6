// tandem-train: distributed training under mpirun/srun (one rank works too). The command line
// and an optional INI file (--config; the command line wins) fill a TrainConfig through its
// settings table (trainer/train/train_config.h); the run is trainer/train/training_run.cpp.
// Exit codes: ops/exit_codes.h and docs/training.md.
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <sstream>
#include <vector>

#include "ops/exit_codes.h"
#include "trainer/apps/mpi_program_main.h"
#include "trainer/apps/program_main.h"
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

const EnumNames<int> kSignalNames("checkpoint-signals", {{SIGTERM, "TERM"},
                                                         {SIGUSR1, "USR1"},
                                                         {SIGUSR2, "USR2"},
                                                         {SIGHUP, "HUP"}});

// "TERM,USR1" (or "SIGTERM,...") -> signal numbers. ConfigError naming the option.
std::vector<int> parse_signals(const std::string& names) {
  std::vector<int> signals;
  std::stringstream list(names);
  std::string name;
  while (std::getline(list, name, ',')) {
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (!name.empty()) signals.push_back(kSignalNames.parse(name));
  }
  return signals;
}

int train(int argc, char** argv, trainer::MpiWorld& world) {
  Cli cli;
  const Settings settings = cli_settings(cli);
  const auto options = apps::options_of(settings, kCaption);
  std::vector<int> signals;
  // Options may differ per rank (MPMD launches): agree before anyone acts on them.
  apps::parse_agreed(world, [&] {
    apps::parse_options(argc, argv, settings, options, "config");
    signals = parse_signals(cli.checkpoint_signals);
  });
  if (cli.help) {
    if (world.rank() == 0) std::cout << options << "\n";
    return kExitDone;
  }
  apps::set_threads(world, "tandem-train", cli.config.threads);
  std::signal(SIGINT, on_sigint);
  stop_deadline_seconds = cli.stop_deadline;
  for (int signal : signals) std::signal(signal, on_preemption);
  return trainer::run_training(world, cli.config);
}

}  // namespace

int main(int argc, char** argv) {
  return apps::run_mpi_program("tandem-train", &argc, &argv,
                               [&](trainer::MpiWorld& world) { return train(argc, argv, world); });
}
