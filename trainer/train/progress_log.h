// What a training run reports: the JSON-lines metrics file (<run_dir>/metrics.jsonl, written by
// rank 0; its record types and fields are documented in docs/training.md) and the human progress
// line on stderr, with the per-step figures accumulated between two log steps.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "trainer/dist/mpi_world.h"
#include "trainer/train/run_scheduler.h"
#include "trainer/train/train_step.h"

namespace tandem::trainer {

// Rank 0's metrics file and stderr; on other ranks every call does nothing.
class MetricsLog {
 public:
  explicit MetricsLog(const MpiWorld& world) : leader_(world.rank() == 0) {}
  // Appends to <run_dir>/metrics.jsonl from now on, every record marked with the run's id
  // ("run"). IoError if it cannot be opened.
  void open(const std::string& run_dir, const std::string& run_id);
  void write(const nlohmann::json& record);  // Requires: open()
  void say(const std::string& line) const;   // one line on stderr
  bool leader() const { return leader_; }

 private:
  bool leader_;
  std::string run_id_;
  std::ofstream file_;
};

// Figures of the steps since the last progress line.
struct ProgressInterval {
  double loss = 0, data_wait = 0, compute = 0, reduce = 0, update = 0, fixed_point = 0, early = 0;
  int64_t tokens = 0, steps = 0, real_tokens = 0, padded_tokens = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  // Adds one step (a skipped step adds no loss or tokens). early_fraction: of the gradient
  // bytes whose all-reduce started during backward.
  void add(const StepResult& result, const Trainer& trainer, double early_fraction);
};

// What the progress line needs besides the interval.
struct ProgressPoint {
  int64_t step = 0, epoch = 0, total_skips = 0;
  double learning_rate = 0, grad_norm = 0;
};

// Collective (gathers step times and padding): prints the progress line and writes the "train"
// record; the scheduler gives the elapsed time and the ETA.
void log_progress(const MpiWorld& world, MetricsLog& log, const ProgressInterval& interval,
                  const ProgressPoint& point, const RunScheduler& scheduler);

// "H:MM:SS", or "-" for a negative or infinite duration.
std::string duration_text(double seconds);

// Every rank's peak resident memory in MiB, indexed by rank. Collective.
std::vector<double> peak_rss_mib(const MpiWorld& world);

}  // namespace tandem::trainer
