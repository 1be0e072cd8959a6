// tandem-inspect: looks inside tandem files.
//   tandem-inspect checkpoint FILE   configuration, step, parameter table (name, shape, count,
//                                    L2 norm), total parameters, vocabulary checksums
//   tandem-inspect embeddings CHECKPOINT [--side src|tgt] [--words a,b] [-k N] [--export DIR]
//                                    nearest tokens by cosine similarity; TensorBoard Projector
//                                    TSV export (scripts/plot_embeddings.py draws it in 3-D)
#include <boost/program_options.hpp>
#include <cstdio>
#include <sstream>
#include <string>

#include "data/batch.h"
#include "ops/dnnl_context.h"
#include "ops/errors.h"
#include "ops/exit_codes.h"
#include "trainer/apps/program_main.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/decode/embeddings.h"

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
  std::printf("written by      %s\n",
              summary.identity.build.empty() ? "(not recorded)" : summary.identity.build.c_str());
  std::printf("run             %s\n", summary.identity.run_id.empty()
                                          ? "(not recorded: written before run ids)"
                                          : summary.identity.run_id.c_str());
  std::printf("step            %lld (epoch %lld, written by %lld rank(s))\n",
              static_cast<long long>(summary.step), static_cast<long long>(summary.epoch),
              static_cast<long long>(summary.ranks));
  std::printf("optimizer       %s\n", summary.identity.optimizer.c_str());
  std::printf("vocabularies    source %s, target %s\n", summary.identity.src_vocab_checksum.c_str(),
              summary.identity.tgt_vocab_checksum.c_str());
  std::printf("content         checksum %s: %s\n\nmodel configuration:\n%s\n",
              summary.checksum.c_str(), summary.verified ? "verified" : "MISMATCH (corrupt)",
              summary.identity.model_config.c_str());
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
              static_cast<long long>(total), summary.identity.run_config.c_str());
  std::printf("\ntraining state (what a resume restores besides parameters and moments):\n%s",
              summary.state.c_str());
  return 0;
}

namespace po = boost::program_options;

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> items;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) items.push_back(item);
  return items;
}

// Returns the exit status: 1 if a requested word is not in the vocabulary.
int inspect_embeddings(int argc, char** argv) {
  std::string checkpoint, side_name, words, export_directory, corpus;
  int k = 0;
  int64_t top = 0;
  bool latest = false;
  po::options_description options("tandem-inspect embeddings CHECKPOINT");
  options.add_options()("side", po::value(&side_name)->default_value("src"),
                        "src (encoder) or tgt (decoder) embeddings")(
      "words", po::value(&words),
      "comma-separated tokens to show neighbours of (default: the 10 most frequent)")(
      "k,k", po::value(&k)->default_value(5), "neighbours per token")(
      "export", po::value(&export_directory),
      "write vectors.tsv + metadata.tsv (TensorBoard Projector) to this directory")(
      "top", po::value(&top)->default_value(0),
      "export only the N most frequent tokens (0: the whole vocabulary)")(
      "corpus", po::value(&corpus), "corpus with the vocabularies (default: the run's)")(
      "latest", po::bool_switch(&latest), "for a directory: the latest checkpoint, not the best")(
      "checkpoint", po::value(&checkpoint)->required(),
      "checkpoint file, or run/checkpoint directory");
  po::positional_options_description positional;
  positional.add("checkpoint", 1);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).positional(positional).run(),
              values);
    po::notify(values);
  } catch (const po::error& error) {
    throw ConfigError(std::string(error.what()));
  }
  require_config(k >= 1, "k", "must be at least 1");
  require_config(top >= 0, "top", "must not be negative (0: the whole vocabulary)");
  const trainer::EmbeddingSide side = trainer::kEmbeddingSideNames.parse(side_name);

  ops::DnnlContext ctx;
  trainer::TranslatorOptions translator_options;
  translator_options.checkpoint = checkpoint;
  translator_options.prefer_best = !latest;
  translator_options.corpus = corpus;
  trainer::Translator translator(translator_options, ctx);
  const trainer::EmbeddingTable table = trainer::embedding_table(translator, side);
  const bool source = side == trainer::EmbeddingSide::kSource;
  std::printf("%s embeddings of %s (step %lld): %zu tokens x %lld\n", source ? "source" : "target",
              translator.checkpoint_path().c_str(), static_cast<long long>(translator.step()),
              table.tokens.size(), static_cast<long long>(table.dimension));

  if (!export_directory.empty()) {
    const int64_t rows = trainer::export_projector(table, export_directory, top);
    std::printf("exported %lld tokens to %s/vectors.tsv and metadata.tsv\n",
                static_cast<long long>(rows), export_directory.c_str());
    if (words.empty()) return 0;
  }
  std::vector<std::string> requested = split_commas(words);
  if (words.empty())
    for (size_t id = data::kFirstRegularId; id < table.tokens.size() && requested.size() < 10; ++id)
      requested.push_back(table.tokens[id]);
  const data::Vocabulary& vocabulary = translator.vocabulary(source);
  int status = 0;
  for (const std::string& word : requested) {
    const int32_t id = vocabulary.id(word);
    if (id < data::kFirstRegularId) {
      std::fprintf(stderr, "tandem-inspect: '%s' is not in the %s vocabulary\n", word.c_str(),
                   source ? "source" : "target");
      status = 1;
      continue;
    }
    std::printf("%-12s", word.c_str());
    for (const trainer::Neighbour& n :
         trainer::nearest_neighbours(table, static_cast<size_t>(id), k))
      std::printf("  %s %.3f", n.token.c_str(), n.cosine);
    std::printf("\n");
  }
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: tandem-inspect checkpoint FILE | tandem-inspect embeddings CHECKPOINT [--side "
      "src|tgt] "
      "[--words a,b] [-k N] [--export DIR [--top N]] [--corpus DIR] [--latest]";
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::printf(
        "%s\n  checkpoint: configuration, step and parameter table\n"
        "  embeddings: nearest tokens by cosine similarity; Projector TSV export\n",
        usage.c_str());
    return argc < 2 ? tandem::kExitUsage : tandem::kExitDone;
  }
  return tandem::apps::run_program("tandem-inspect", argc, argv, [&] {
    const std::string command = argv[1];
    if (command == "checkpoint" && argc == 3) return inspect_checkpoint(argv[2]);
    if (command == "embeddings") return inspect_embeddings(argc - 1, argv + 1);
    throw tandem::ConfigError("unknown command or arguments (" + usage + ")");
  });
}
