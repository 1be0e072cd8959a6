#include "trainer/train/progress_log.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ops/errors.h"
#include "trainer/train/run_directory.h"

namespace tandem::trainer {

void MetricsLog::open(const std::string& run_dir, const std::string& run_id) {
  if (!leader_) return;
  const std::string path = run_dir + "/" + kMetricsFile;
  run_id_ = run_id;
  file_.open(path, std::ios::app);
  if (!file_) throw IoError(path + ": cannot open for writing");
}

void MetricsLog::write(const nlohmann::json& record) {
  if (!leader_) return;
  nlohmann::json line = record;
  line["run"] = run_id_;
  file_ << line.dump() << "\n";
  file_.flush();
}

void MetricsLog::say(const std::string& line) const {
  if (leader_) std::fprintf(stderr, "%s\n", line.c_str());
}

void ProgressInterval::add(const StepResult& result, const Trainer& trainer,
                           double early_fraction) {
  if (!result.skipped) {
    loss += result.global.loss;
    tokens += result.global.tokens;
  }
  ++steps;
  compute += trainer.compute_seconds();
  reduce += trainer.reduce_seconds();
  update += trainer.update_seconds();
  fixed_point += trainer.fixed_point_seconds();
  early += early_fraction;
}

void log_progress(const MpiWorld& world, MetricsLog& log, const ProgressInterval& interval,
                  const ProgressPoint& point, const RunScheduler& scheduler) {
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - interval.start).count();
  const double step_time = wall / static_cast<double>(interval.steps);
  const auto times = world.all_gather(static_cast<uint64_t>(step_time * 1e9));
  const auto slowest = std::max_element(times.begin(), times.end());
  std::vector<double> padding{static_cast<double>(interval.real_tokens),
                              static_cast<double>(interval.padded_tokens)};
  world.sum(padding);
  const double loss = interval.tokens ? interval.loss / static_cast<double>(interval.tokens) : 0.0;
  const double run_seconds = scheduler.elapsed_seconds();
  const double eta = scheduler.eta_seconds(point.step, step_time);
  const double padding_efficiency = padding[1] > 0 ? padding[0] / padding[1] : 1.0;
  const double tokens_per_second = static_cast<double>(interval.tokens) / wall;
  char line[320];
  std::snprintf(line, sizeof line,
                "step %lld | epoch %lld | loss %.4f | ppl %.3f | lr %.2e | gnorm %.3f | %.0f "
                "tok/s | pad %.3f | eta %s",
                static_cast<long long>(point.step), static_cast<long long>(point.epoch), loss,
                std::exp(loss), point.learning_rate, point.grad_norm, tokens_per_second,
                padding_efficiency, duration_text(eta).c_str());
  log.say(line);
  const double n = static_cast<double>(interval.steps);
  log.write({{"type", "train"},
             {"step", point.step},
             {"epoch", point.epoch},
             {"loss", loss},
             {"ppl", std::exp(loss)},
             {"lr", point.learning_rate},
             {"grad_norm", point.grad_norm},
             {"tokens_per_s", tokens_per_second},
             {"padding_efficiency", padding_efficiency},
             {"elapsed_s", run_seconds},
             {"eta_s", eta},
             {"step_s", step_time},
             {"time_s",
              {{"data_wait", interval.data_wait / n},
               {"forward_backward", interval.compute / n},
               {"allreduce_wait", interval.reduce / n},
               {"optimizer", interval.update / n},
               {"fixed_point", interval.fixed_point / n}}},
             {"allreduce_started_early", interval.early / n},
             {"slowest_rank", slowest - times.begin()},
             {"slowest_step_s", static_cast<double>(*slowest) * 1e-9},
             {"skipped_steps", point.total_skips}});
}

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "-";
  const auto s = static_cast<int64_t>(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return text;
}

std::vector<double> peak_rss_mib(const MpiWorld& world) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  std::vector<double> peaks;
  for (uint64_t kib : world.all_gather(static_cast<uint64_t>(usage.ru_maxrss)))
    peaks.push_back(static_cast<double>(kib) / 1024.0);
  return peaks;
}

}  // namespace tandem::trainer
