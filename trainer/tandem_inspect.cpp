// tandem-inspect: looks inside tandem files.
//   tandem-inspect checkpoint FILE   configuration, step, parameter table (name, shape, count,
//                                    L2 norm), total parameters, vocabulary checksums
#include <cstdio>
#include <string>

#include "ops/errors.h"
#include "trainer/checkpoint.h"

namespace {

using namespace tandem;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

int inspect_checkpoint(const std::string& path) {
  const trainer::CheckpointSummary summary = trainer::summarize_checkpoint(path);
  std::printf("checkpoint      %s\n", path.c_str());
  std::printf("format version  %lld\n", static_cast<long long>(summary.format_version));
  std::printf("step            %lld (epoch %lld, written by %lld rank(s))\n",
              static_cast<long long>(summary.step), static_cast<long long>(summary.epoch),
              static_cast<long long>(summary.ranks));
  std::printf("optimizer       %s\n", summary.optimizer.c_str());
  std::printf("vocabularies    source %s, target %s\n", summary.src_vocab_checksum.c_str(),
              summary.tgt_vocab_checksum.c_str());
  std::printf("content         checksum %s: %s\n\nmodel configuration:\n%s\n",
              summary.checksum.c_str(), summary.verified ? "verified" : "MISMATCH (corrupt)",
              summary.model_config.c_str());
  std::printf("%-40s %-18s %12s %12s\n", "parameter", "shape", "count", "L2 norm");
  int64_t total = 0;
  for (const auto& parameter : summary.parameters) {
    int64_t count = 1;
    for (int64_t d : parameter.shape) count *= d;
    total += count;
    std::printf("%-40s %-18s %12lld %12.4f\n", parameter.name.c_str(),
                shape_text(parameter.shape).c_str(), static_cast<long long>(count), parameter.norm);
  }
  std::printf("%-40s %-18s %12lld\n\nrun configuration:\n%s", "total", "",
              static_cast<long long>(total), summary.run_config.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage = "usage: tandem-inspect checkpoint FILE";
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::printf("%s\n  prints a checkpoint's configuration, step and parameter table\n",
                usage.c_str());
    return argc < 2 ? 2 : 0;
  }
  try {
    const std::string command = argv[1];
    if (command == "checkpoint" && argc == 3) return inspect_checkpoint(argv[2]);
    std::fprintf(stderr, "tandem-inspect: error: unknown command or arguments (%s)\n",
                 usage.c_str());
    return 2;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "tandem-inspect: error: %s\n", error.what());
    return 1;
  }
}
