#include "trainer/apps/stop_signals.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <sstream>
#include <thread>

#include "ops/settings.h"
#include "trainer/train/run_scheduler.h"

namespace tandem::apps {
namespace {

const EnumNames<int> kPreemptionSignalNames("checkpoint-signals", {{SIGTERM, "TERM"},
                                                                   {SIGUSR1, "USR1"},
                                                                   {SIGUSR2, "USR2"},
                                                                   {SIGHUP, "HUP"}});

std::vector<int> stop_signals() {
  std::vector<int> signals = kPreemptionSignalNames.values();
  signals.push_back(SIGINT);
  return signals;
}

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : stop_signals()) sigaddset(&set, signal);
  return set;
}

// The stop signals this process inherited as ignored (nohup's SIGHUP, SIGINT in a background job
// of a script): one that tandem-train does not handle stays ignored.
sigset_t inherited_ignored;

// The default action of `signal` (for these signals: the process ends), taken on this thread,
// the only one that does not block it.
[[noreturn]] void die_by(int signal) {
  std::signal(signal, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  raise(signal);
  _exit(128 + signal);  // not reached: the default action of every signal in the set ends us
}

void wait_for_stop_signals(std::vector<int> preemption_signals, int deadline_seconds) {
  const sigset_t set = stop_signal_set();
  bool interrupted = false, preempted = false;
  for (;;) {
    int signal = 0;
    if (sigwait(&set, &signal) != 0) continue;
    const bool preemption = std::find(preemption_signals.begin(), preemption_signals.end(),
                                      signal) != preemption_signals.end();
    if (signal == SIGINT && !interrupted) {
      interrupted = true;  // a second Ctrl-C ends the process at once
      trainer::request_stop();
    } else if (preemption && !preempted) {
      preempted = true;  // a second one ends it at once; so does the deadline (SIGALRM)
      trainer::request_preemption();
      if (deadline_seconds > 0) alarm(static_cast<unsigned>(deadline_seconds));
    } else if (signal == SIGINT || preemption || !sigismember(&inherited_ignored, signal)) {
      die_by(signal);
    }
  }
}

}  // namespace

std::vector<int> parse_preemption_signals(const std::string& names) {
  std::vector<int> signals;
  std::stringstream list(names);
  std::string name;
  while (std::getline(list, name, ',')) {
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (!name.empty()) signals.push_back(kPreemptionSignalNames.parse(name));
  }
  return signals;
}

void block_stop_signals() {
  sigemptyset(&inherited_ignored);
  for (int signal : stop_signals()) {
    struct sigaction action = {};
    if (sigaction(signal, nullptr, &action) == 0 && action.sa_handler == SIG_IGN)
      sigaddset(&inherited_ignored, signal);
  }
  const sigset_t set = stop_signal_set();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void start_stop_signal_thread(const std::vector<int>& preemption_signals, int deadline_seconds) {
  // Detached: it only waits, touches nothing but atomics, and ends with the process.
  std::thread(wait_for_stop_signals, preemption_signals, deadline_seconds).detach();
}

}  // namespace tandem::apps
