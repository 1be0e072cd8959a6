// The exit codes of every tandem program (documented in docs/training.md). Here, beside
// errors.h, because every library that can end a process needs them (the collective watchdog in
// trainer/dist, the programs in trainer/apps, tandem-prep with data/ only).
// Persisted in scripts and schedulers (SLURM requeues on 75): never renumber.
#pragma once

namespace tandem {

constexpr int kExitDone = 0;           // finished: a limit, early stopping, or output written
constexpr int kExitError = 1;          // an error (I/O, corrupt data, ranks disagree, NaN steps)
constexpr int kExitUsage = 2;          // bad command line or configuration
constexpr int kExitRequeue = 75;       // checkpointed on a preemption signal: requeue and resume
constexpr int kExitInterrupted = 130;  // stopped cleanly on SIGINT (after a checkpoint)

}  // namespace tandem
