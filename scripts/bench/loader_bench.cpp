// loader_bench: reads one epoch of a corpus split through BatchLoader and prints batches/s,
// tokens/s, padding efficiency and peak RSS. Not a test; scripts/bench/loader_bench.sh runs it.
// Usage: loader_bench CORPUS BATCH_TOKENS [POOL] [CHUNK] [SPLIT]   (POOL 1 and CHUNK 1: no
// bucketing)
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "data/batch_loader.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: loader_bench CORPUS BATCH_TOKENS [POOL] [CHUNK] [SPLIT]\n");
    return 2;
  }
  try {
    const tandem::data::Corpus corpus = tandem::data::Corpus::open(argv[1]);
    tandem::data::LoaderOptions options;
    options.batch_tokens = std::atoll(argv[2]);
    options.pool = argc > 3 ? std::atoi(argv[3]) : 20;
    options.chunk = argc > 4 ? std::atoi(argv[4]) : 64;
    const std::string split = argc > 5 ? argv[5] : "train";
    const auto start = std::chrono::steady_clock::now();
    tandem::data::BatchLoader loader(corpus, split, options);
    int64_t batches = 0, examples = 0, target_tokens = 0;
    while (auto batch = loader.next()) {
      ++batches;
      examples += batch->batch_size;
      target_tokens += batch->target_tokens();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf(
        "loader %s split=%s budget=%lld pool=%d chunk=%d: %lld examples, %lld batches in %.2f s = "
        "%.0f batches/s, %.0f examples/s, %.0f target tokens/s; padding efficiency %.3f; peak RSS "
        "%.1f MiB\n",
        argv[1], split.c_str(), static_cast<long long>(options.batch_tokens), options.pool,
        options.chunk, static_cast<long long>(examples), static_cast<long long>(batches), seconds,
        batches / seconds, examples / seconds, target_tokens / seconds,
        loader.padding().efficiency(), usage.ru_maxrss / 1024.0);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "loader_bench: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
