// step_bench: one process, synthetic batches, the design's bench-small / bench-base models.
// Prints ms/step (min and median), target tokens/s, a per-section breakdown, the sum of the
// oneDNN primitive times of one step (from oneDNN's verbose exec timings) with the ratio
// step / primitive sum, and peak RSS. Threads come from OMP_NUM_THREADS (scripts/bench/
// step_bench.sh runs 1 and 2). Usage: step_bench small|base [steps] [min_len-max_len] [f32|bf16]
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "data/batch.h"
#include "data/synthetic.h"
#include "ops/rng.h"
#include "trainer/model/seq2seq_model.h"
#include "trainer/train/train_step.h"

namespace {

using namespace tandem;

struct Bench {
  trainer::ModelConfig model;
  int batch_size;
};

Bench bench_config(const std::string& name) {
  Bench bench;
  trainer::ModelConfig& c = bench.model;
  c.cell = ops::CellKind::kLstm;
  c.attention = trainer::AttentionType::kGeneral;
  c.decoder_init = trainer::DecoderInit::kFinalState;
  if (name == "small") {
    c.src_vocab_size = c.tgt_vocab_size = 1000;
    c.embedding_size = 128;
    c.hidden_size = 256;
    c.encoder_layers = c.decoder_layers = 1;
    bench.batch_size = 32;
  } else if (name == "base") {
    c.src_vocab_size = c.tgt_vocab_size = 8000;
    c.embedding_size = 512;
    c.hidden_size = 512;
    c.encoder_layers = c.decoder_layers = 2;
    bench.batch_size = 64;
  } else {
    std::fprintf(stderr, "step_bench: error: unknown config '%s' (small or base)\n", name.c_str());
    std::exit(2);
  }
  return bench;
}

// This machine's f32 GEMM rate (dnnl_sgemm 2048^3, best of 3), to put the step in context.
double sgemm_gflops() {
  const int64_t n = 2048;
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a), c(a);
  double best = 1e30;
  for (int r = 0; r < 4; ++r) {
    const auto start = std::chrono::steady_clock::now();
    dnnl::sgemm('N', 'N', n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) best = std::min(best, seconds);
  }
  return 2.0 * n * n * n / best * 1e-9;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Runs `steps` training steps with oneDNN's verbose exec timing on (stdout captured to a file)
// and returns the mean per-step sum of primitive times in ms, per primitive kind.
std::map<std::string, double> primitive_times(trainer::Trainer& trainer,
                                              const std::vector<data::Batch>& batches, int steps) {
  const std::string path = "/tmp/step_bench_verbose." + std::to_string(getpid());
  std::fflush(stdout);
  const int saved_stdout = dup(1);
  FILE* capture = std::fopen(path.c_str(), "w");
  dup2(fileno(capture), 1);
  dnnl::set_verbose(1);
  for (int s = 0; s < steps; ++s)
    trainer.train_step(batches[static_cast<size_t>(s) % batches.size()]);
  dnnl::set_verbose(0);
  std::fflush(stdout);
  dup2(saved_stdout, 1);
  close(saved_stdout);
  std::fclose(capture);
  std::map<std::string, double> per_kind;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("onednn_verbose,exec,", 0) != 0) continue;
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, ',')) fields.push_back(field);
    if (fields.size() < 5) continue;
    const double ms = std::atof(fields.back().c_str());
    per_kind[fields[3] + " (" + fields[4] + ")"] += ms / steps;
    per_kind["~total"] += ms / steps;
  }
  std::remove(path.c_str());
  return per_kind;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "small";
  const Bench bench = bench_config(name);
  const int steps = argc > 2 ? std::atoi(argv[2]) : (name == "base" ? 10 : 50);
  int min_len = 25, max_len = 25;
  if (argc > 3 && std::sscanf(argv[3], "%d-%d", &min_len, &max_len) != 2) {
    std::fprintf(stderr, "step_bench: error: lengths must look like 20-30\n");
    return 2;
  }
  trainer::ModelConfig model_config = bench.model;
  if (argc > 4) model_config.precision = trainer::kPrecisionNames.parse(argv[4]);
  ops::DnnlContext ctx;
  trainer::Seq2SeqModel model(model_config, ctx);
  model.initialize(1);
  trainer::TrainStepConfig config;
  config.learning_rate = 1e-4f;
  trainer::Trainer trainer(model, config);
  std::vector<data::Batch> batches;
  for (int b = 0; b < 8; ++b)
    batches.push_back(data::random_batch(bench.batch_size, bench.model.tgt_vocab_size, min_len,
                                         max_len, 100 + b));

  const int warmup = 3;
  for (int s = 0; s < warmup; ++s)
    trainer.train_step(batches[static_cast<size_t>(s) % batches.size()]);
  ctx.section_times().enable(true);
  ctx.section_times().clear();
  std::vector<double> step_ms;
  int64_t tokens = 0;
  for (int s = 0; s < steps; ++s) {
    const data::Batch& batch = batches[static_cast<size_t>(s) % batches.size()];
    const auto start = std::chrono::steady_clock::now();
    trainer.train_step(batch);
    step_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    tokens += batch.target_tokens();
  }
  ctx.section_times().enable(false);
  const double tokens_per_step = static_cast<double>(tokens) / steps;
  const double med = median(step_ms), best = *std::min_element(step_ms.begin(), step_ms.end());
  const auto primitives = primitive_times(trainer, batches, std::max(2, std::min(steps, 5)));
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);

  std::printf("bench-%s  threads %d  batch %d  lengths %d-%d  params %zu  steps %d  precision %s\n",
              name.c_str(), omp_get_max_threads(), bench.batch_size, min_len, max_len,
              model.params().parameter_count(), steps,
              trainer::kPrecisionNames.name(model_config.precision).c_str());
  std::printf("  step ms            min %8.2f  median %8.2f\n", best, med);
  std::printf("  target tokens/s    max %8.0f  median %8.0f   (%.0f target tokens/step)\n",
              tokens_per_step / best * 1e3, tokens_per_step / med * 1e3, tokens_per_step);
  std::printf("  breakdown (mean ms/step):\n");
  double sections = 0.0;
  for (const auto& [section, seconds] : ctx.section_times().seconds()) {
    std::printf("    %-14s %8.2f\n", section.c_str(), seconds * 1e3 / steps);
    sections += seconds * 1e3 / steps;
  }
  std::printf("    %-14s %8.2f\n", "(other)",
              std::accumulate(step_ms.begin(), step_ms.end(), 0.0) / steps - sections);
  std::printf("  oneDNN primitive time per step (verbose exec timings):\n");
  for (const auto& [kind, ms] : primitives)
    if (kind != "~total") std::printf("    %-40s %8.2f\n", kind.c_str(), ms);
  const double primitive_sum = primitives.count("~total") ? primitives.at("~total") : 0.0;
  std::printf("  primitive sum      %8.2f ms  -> bound %8.0f tokens/s\n", primitive_sum,
              tokens_per_step / primitive_sum * 1e3);
  std::printf("  step / primitive sum   min %.3f  median %.3f\n", best / primitive_sum,
              med / primitive_sum);
  std::printf("  peak RSS           %8.1f MiB\n", usage.ru_maxrss / 1024.0);
  std::printf("  machine sgemm 2048^3: %.0f GFLOP/s at %d threads\n", sgemm_gflops(),
              omp_get_max_threads());
  return 0;
}
