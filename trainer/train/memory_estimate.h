// What a training run will hold in memory per rank, estimated before anything large is allocated,
// so that a configuration that cannot fit is refused at start (naming the estimate and what to
// change) instead of failing hours later, and so that a user sees where the memory goes.
// The terms and how they were calibrated against measured peaks are in docs/training.md
// ("Memory").
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/corpus.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/train_config.h"

namespace tandem::trainer {

struct MemoryEstimate {
  struct Term {
    std::string name;
    double bytes = 0;
  };
  std::vector<Term> terms;  // process, parameters, gradients, optimizer, ... (bytes per rank)
  double total() const;
  std::string text() const;  // "1234 MiB (process 80 MiB, parameters 82 MiB, ...)"
};

// The longest source and target sequence (tokens + <bos>/<eos>) in the corpus' training split,
// from tandem-prep's statistics; 0 when the corpus does not record them.
struct SequenceBounds {
  int64_t source = 0, target = 0;
};
SequenceBounds sequence_bounds(const data::Manifest& manifest);

// Per rank, for micro-batches of the configured budget. `process_bytes`: what the process holds
// already (libraries, MPI, the corpus index).
MemoryEstimate estimate_memory(const TrainConfig& config, const ParameterCounts& parameters,
                               const SequenceBounds& bounds, double process_bytes);

// The memory this rank may use: the node's available memory shared among the ranks on it, the
// cgroup's limit, and the address-space limit (ulimit -v), whichever is least; plus what the
// process holds already. Bytes.
double memory_available_to_rank(int ranks_on_node);

// Bytes resident now (/proc/self/statm).
double resident_bytes();

// Start-up check: ConfigError naming the estimate, the memory available and the options that
// lower it when the estimate does not fit.
void require_memory_fits(const MemoryEstimate& estimate, double available, int ranks_on_node);

}  // namespace tandem::trainer
