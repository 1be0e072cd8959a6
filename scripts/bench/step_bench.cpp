// step_bench: one process, synthetic batches, the design's bench-small / bench-base models or
// the English->Chinese recipe's (mt).
// Prints ms/step (min and median), target tokens/s, a per-section breakdown, the oneDNN
// primitive times of one step (from oneDNN's verbose exec timings) with each kind's GFLOP/s
// against this machine's f32 and bf16 matmul peaks, the ratio step / primitive sum, and peak RSS.
// Threads come from OMP_NUM_THREADS (scripts/bench/ step_bench.sh runs 1 and 2). Usage: step_bench
// small|base|mt [steps] [min_len-max_len] [f32|bf16]. KEEP_VERBOSE=1 keeps oneDNN's verbose log of
// those steps (its path is printed) for a look at single executions.
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
#include "scripts/bench/lstm_alone.h"
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
  } else if (name == "mt") {  // scripts/translate_po.sh's model; 170 x 9-12 tokens ~ its 2,048
    c.src_vocab_size = c.tgt_vocab_size = 8000;
    c.embedding_size = 256;
    c.hidden_size = 512;
    c.encoder_layers = c.decoder_layers = 2;
    c.bidirectional_encoder = true;
    c.dropout = 0.2f;
    bench.batch_size = 170;
  } else {
    std::fprintf(stderr, "step_bench: error: unknown config '%s' (small, base or mt)\n",
                 name.c_str());
    std::exit(2);
  }
  return bench;
}

// This machine's GEMM peak for `type` (f32, or bf16 inputs with f32 accumulation and output):
// a oneDNN matmul 2048^3, weights in the layout it prefers, best of 3 after a warm-up.
double matmul_peak_gflops(dnnl::memory::data_type type) {
  using dnnl::memory;
  const memory::dim n = 2048;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc a_md({n, n}, type, memory::format_tag::ab);
  const memory::desc b_any({n, n}, type, memory::format_tag::any);
  const memory::desc c_md({n, n}, memory::data_type::f32, memory::format_tag::ab);
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_any, c_md), engine);
  memory a(a_md, engine), b(pd.weights_desc(), engine), c(c_md, engine);
  std::fill_n(static_cast<unsigned char*>(a.get_data_handle()), a_md.get_size(), 0x3f);
  std::fill_n(static_cast<unsigned char*>(b.get_data_handle()), pd.weights_desc().get_size(), 0x3f);
  dnnl::matmul matmul(pd);
  double best = 1e30;
  for (int r = 0; r < 4; ++r) {
    const auto start = std::chrono::steady_clock::now();
    matmul.execute(stream, {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
    stream.wait();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r > 0) best = std::min(best, seconds);
  }
  return 2.0 * n * n * n / best * 1e-9;
}

std::vector<int64_t> dims_of(const std::string& text) {  // "64x512" -> {64, 512}
  std::vector<int64_t> dims;
  std::stringstream stream(text);
  std::string dim;
  while (std::getline(stream, dim, 'x')) dims.push_back(std::atoll(dim.c_str()));
  return dims;
}

// Floating-point operations of one verbose exec line (0 for memory-bound primitives).
// matmul "[B x]MxK:[B x]KxN": 2BMKN. RNN "l1t25mb64sic512slc512dhc512dic512": forward
// 2·L·T·N·G·H·(I + H) for G gates; backward twice that (data and weight gradients).
double primitive_flops(const std::vector<std::string>& fields) {
  const std::string& kind = fields[3];
  const std::string& shape = fields[fields.size() - 2];
  if (kind == "matmul") {
    const size_t colon = shape.find(':');
    if (colon == std::string::npos) return 0.0;
    const std::vector<int64_t> a = dims_of(shape.substr(0, colon));
    const std::vector<int64_t> b = dims_of(shape.substr(colon + 1, shape.find(':', colon + 1)));
    if (a.size() < 2 || b.size() < 2) return 0.0;
    double batch = 1.0;
    for (size_t d = 0; d + 2 < a.size(); ++d) batch *= static_cast<double>(a[d]);
    return 2.0 * batch * a[a.size() - 2] * a.back() * b.back();
  }
  if (kind == "rnn") {
    long l = 0, t = 0, mb = 0, sic = 0, slc = 0, dhc = 0, dic = 0;
    if (std::sscanf(shape.c_str(), "l%ldt%ldmb%ldsic%ldslc%lddhc%lddic%ld", &l, &t, &mb, &sic, &slc,
                    &dhc, &dic) != 7)
      return 0.0;
    std::string line;
    for (const std::string& field : fields) line += field + ",";
    const int gates = line.find("lstm") != std::string::npos  ? 4
                      : line.find("gru") != std::string::npos ? 3
                                                              : 1;
    const double forward = 2.0 * l * t * mb * gates * dhc * (slc + sic);
    return fields[5] == "backward" ? 2.0 * forward : forward;
  }
  return 0.0;
}

struct PrimitiveTime {
  double ms = 0.0, flops = 0.0;
  bool bf16 = false;
  std::map<std::string, std::vector<double>> executions_ms;  // by shape ("l1t25mb64sic512...")
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Runs `steps` training steps with oneDNN's verbose exec timing on (stdout captured to a file)
// and returns the mean per-step primitive time and work, per primitive kind, implementation and
// propagation.
std::map<std::string, PrimitiveTime> primitive_times(trainer::Trainer& trainer,
                                                     const std::vector<data::Batch>& batches,
                                                     int steps) {
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
  std::map<std::string, PrimitiveTime> per_kind;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("onednn_verbose,exec,", 0) != 0) continue;
    std::vector<std::string> fields;
    std::stringstream stream(line);
    std::string field;
    while (std::getline(stream, field, ',')) fields.push_back(field);
    if (fields.size() < 8) continue;
    const double ms = std::atof(fields.back().c_str());
    PrimitiveTime& entry = per_kind[fields[3] + " " + fields[5] + " (" + fields[4] + ")"];
    entry.ms += ms / steps;
    entry.flops += primitive_flops(fields) / steps;
    entry.executions_ms[fields[fields.size() - 2]].push_back(ms);
    entry.bf16 = entry.bf16 || line.find("src_bf16") != std::string::npos ||
                 line.find("src_layer_bf16") != std::string::npos;
    per_kind["~total"].ms += ms / steps;
  }
  if (std::getenv("KEEP_VERBOSE"))
    std::fprintf(stderr, "step_bench: oneDNN verbose log kept in %s\n", path.c_str());
  else
    std::remove(path.c_str());
  return per_kind;
}

// Prints each primitive kind's time per step and, for GEMM-like kinds, its GFLOP/s as a share of
// this machine's matmul peak of its type (measured here), then the peaks.
void print_primitives(const std::map<std::string, PrimitiveTime>& primitives) {
  const double f32_peak = matmul_peak_gflops(dnnl::memory::data_type::f32);
  const double bf16_peak = matmul_peak_gflops(dnnl::memory::data_type::bf16);
  std::printf(
      "  oneDNN primitives per step (verbose exec timings; GFLOP/s and %% of the matmul "
      "peak of their type):\n");
  for (const auto& [kind, time] : primitives) {
    if (kind == "~total") continue;
    if (time.flops <= 0.0) {
      std::printf("    %-58s %8.2f ms\n", kind.c_str(), time.ms);
      continue;
    }
    const double gflops = time.flops / (time.ms * 1e-3) * 1e-9;
    std::printf("    %-58s %8.2f ms %7.1f GFLOP/s %5.1f %% of %s peak\n", kind.c_str(), time.ms,
                gflops, 100.0 * gflops / (time.bf16 ? bf16_peak : f32_peak),
                time.bf16 ? "bf16" : "f32");
  }
  std::printf("  machine matmul 2048^3 at %d threads: f32 %.0f GFLOP/s, bf16 %.0f GFLOP/s\n",
              omp_get_max_threads(), f32_peak, bf16_peak);
}

// The step's LSTM executions of the first layer's shape next to the same layer trained alone
// (scripts/bench/lstm_alone.h): per execution, median in the step against best alone.
void compare_lstm_alone(const std::map<std::string, PrimitiveTime>& primitives, const Bench& bench,
                        const trainer::ModelConfig& model, int length) {
  const int64_t T = length, N = bench.batch_size, I = model.embedding_size, H = model.hidden_size;
  const bool bf16 = model.precision == ops::Precision::kBf16;
  const bench::LstmTimes alone = bench::time_lstm_alone(T, N, I, H, bf16);
  const std::string shape = "l1t" + std::to_string(T) + "mb" + std::to_string(N) + "sic" +
                            std::to_string(H) + "slc" + std::to_string(I) + "dhc" +
                            std::to_string(H) + "dic" + std::to_string(H);
  const auto in_step = [&](const std::string& prop) {
    for (const auto& [kind, time] : primitives) {
      const auto found = time.executions_ms.find(shape);
      if (kind.rfind("rnn " + prop + " ", 0) == 0 && found != time.executions_ms.end())
        return median(found->second);
    }
    return 0.0;
  };
  const double gflops = alone.forward_flops * 1e-6;  // per ms
  std::printf(
      "  oneDNN LSTM %s alone: forward %.2f ms (%.0f GFLOP/s), backward %.2f ms (%.0f "
      "GFLOP/s); in the step, median per execution: forward %.2f ms, backward %.2f ms\n",
      shape.c_str(), alone.forward_ms, gflops / alone.forward_ms, alone.backward_ms,
      2.0 * gflops / alone.backward_ms, in_step("forward_training"), in_step("backward"));
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
  print_primitives(primitives);
  compare_lstm_alone(primitives, bench, model_config, max_len);
  const double primitive_sum = primitives.count("~total") ? primitives.at("~total").ms : 0.0;
  std::printf("  primitive sum      %8.2f ms  -> bound %8.0f tokens/s\n", primitive_sum,
              tokens_per_step / primitive_sum * 1e3);
  std::printf("  step / primitive sum   min %.3f  median %.3f\n", best / primitive_sum,
              med / primitive_sum);
  std::printf("  peak RSS           %8.1f MiB\n", usage.ru_maxrss / 1024.0);
  return 0;
}
