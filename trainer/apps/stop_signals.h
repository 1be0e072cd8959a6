// The signals that stop a training run (SIGINT, the preemption signals) are received by a thread
// of their own with sigwait(), never by a handler on a thread that computes: oneDNN 2.6's JIT
// GEMM kernels point the stack pointer into a heap workspace while they run, so a handler that
// runs on such a thread writes its signal frame into the heap and corrupts it (oneDNN issue
// #4845, fixed in 3.11; docs/training.md "Signals"). Blocking the signals in every thread and
// waiting for them on one that only waits means no signal frame is ever pushed during compute.
#pragma once

#include <string>
#include <vector>

namespace tandem::apps {

// "TERM,USR1" (or "SIGTERM,...") -> signal numbers; ConfigError naming --checkpoint-signals for
// a signal that cannot be one (TERM, USR1, USR2 and HUP can).
std::vector<int> parse_preemption_signals(const std::string& names);

// Blocks every signal tandem-train may handle (SIGINT and all --checkpoint-signals candidates)
// in the calling thread, so every thread it starts later inherits the mask. Call first in
// main(), before MPI, OpenMP or oneDNN start threads. Signals sent meanwhile stay pending.
void block_stop_signals();

// Starts the thread that takes the blocked signals: the first SIGINT requests a clean stop, the
// first of `preemption_signals` a checkpoint and requeue (exit 75) and arms a SIGALRM after
// `deadline_seconds` (0: none); a second such signal, or a blocked signal that is neither,
// gets its default action (the process ends). Once per process.
void start_stop_signal_thread(const std::vector<int>& preemption_signals, int deadline_seconds);

}  // namespace tandem::apps
