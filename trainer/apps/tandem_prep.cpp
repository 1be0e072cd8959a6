// tandem-prep: parallel text (TSV or two aligned files) -> vocabularies + sharded HDF5 corpus.
// All the work is in data/prep.cpp; this file is the command line.
#include <boost/program_options.hpp>

#include <cstdio>
#include <iostream>
#include <string>

#include "data/prep.h"
#include "ops/errors.h"
#include "ops/exit_codes.h"
#include "trainer/apps/program_main.h"

namespace {

namespace po = boost::program_options;
using namespace tandem;

int run(int argc, char** argv) {
  data::PrepOptions options;
  std::string tokenizer, source_tokenizer, target_tokenizer;
  int64_t vocab_size = 0, source_vocab_size = -1, target_vocab_size = -1, min_count = 1;
  bool quiet = false;

  po::options_description input("Input (UTF-8)");
  input.add_options()("train", po::value(&options.train_tsv),
                      "training pairs: a TSV file, \"source<TAB>target\" per line")(
      "train-src", po::value(&options.train_source),
      "... or two line-aligned files: the source side")(
      "train-tgt", po::value(&options.train_target), "    and the target side")(
      "valid", po::value(&options.valid_tsv), "validation pairs (TSV)")(
      "valid-src", po::value(&options.valid_source), "validation source file (aligned form)")(
      "valid-tgt", po::value(&options.valid_target), "validation target file (aligned form)")(
      "valid-fraction", po::value(&options.valid_fraction)->default_value(0.0),
      "or move this fraction of the training pairs to validation (chosen by a seeded hash of the "
      "source "
      "text, so pairs with the same source stay together)")(
      "seed", po::value(&options.seed)->default_value(1), "seed of the validation split");
  po::options_description output("Output");
  output.add_options()("output,o", po::value(&options.output),
                       "corpus directory (created; see docs/corpus.md)")(
      "force", po::bool_switch(&options.force), "overwrite an existing corpus in that directory")(
      "shards", po::value(&options.shards)->default_value(0),
      "number of training shards (0: use --shard-size)")(
      "shard-size", po::value(&options.shard_size)->default_value(100000), "examples per shard")(
      "deflate", po::value(&options.deflate)->default_value(0), "HDF5 deflate level 0 (off) .. 9");
  po::options_description tokens("Tokenisation and vocabulary");
  tokens.add_options()("tokenizer", po::value(&tokenizer)->default_value("char"),
                       "both sides: char (Unicode characters), word "
                       "(whitespace-separated) or sentencepiece (subwords)")(
      "src-tokenizer", po::value(&source_tokenizer), "source side only (overrides --tokenizer)")(
      "tgt-tokenizer", po::value(&target_tokenizer), "target side only (overrides --tokenizer)")(
      "vocab-size", po::value(&vocab_size)->default_value(0),
      "vocabulary cap per side, incl. 4 reserved ids (0: no cap); the SentencePiece model size "
      "(default 8000)")("src-vocab-size", po::value(&source_vocab_size), "source side only")(
      "tgt-vocab-size", po::value(&target_vocab_size), "target side only")(
      "min-freq", po::value(&min_count)->default_value(1),
      "char/word tokens seen fewer times become <unk>")(
      "sp-model-type", po::value(&options.sentencepiece_type)->default_value("unigram"),
      "bpe or unigram")("src-sp-model", po::value(&options.source.sentencepiece_model),
                        "use this SentencePiece .model for the source")(
      "tgt-sp-model", po::value(&options.target.sentencepiece_model),
      "use this SentencePiece .model for the target")(
      "sp-sample", po::value(&options.sentencepiece_sample)->default_value(2000000),
      "sentences (the first ones) used to train SentencePiece");
  po::options_description filters("Filters");
  filters.add_options()(
      "max-len", po::value(&options.max_length)->default_value(0),
      "drop pairs with more tokens than this on either side (0: no limit); counted")(
      "skip-bad-lines", po::bool_switch(&options.read.skip_bad_lines),
      "skip and count lines without exactly one TAB, with invalid UTF-8 or too long, instead of "
      "stopping")("max-line-bytes", po::value(&options.read.max_line_bytes)->default_value(1 << 20),
                  "longest accepted line")("quiet,q", po::bool_switch(&quiet), "no progress lines")(
      "help,h", "show this help");
  po::options_description all(
      "tandem-prep: parallel text -> vocabularies + sharded HDF5 corpus\n\n"
      "  tandem-prep --train pairs.tsv --valid-fraction 0.05 -o corpus/\n"
      "  tandem-prep --train-src a.en --train-tgt a.de --tokenizer sentencepiece "
      "--vocab-size 8000 -o corpus/\n");
  all.add(input).add(output).add(tokens).add(filters);
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, all), vm);
  if (vm.count("help") || argc == 1) {
    std::cout << all << "\n";
    return argc == 1 ? kExitUsage : kExitDone;
  }
  po::notify(vm);

  options.source.tokenizer =
      data::kTokenizerNames.parse(source_tokenizer.empty() ? tokenizer : source_tokenizer);
  options.target.tokenizer =
      data::kTokenizerNames.parse(target_tokenizer.empty() ? tokenizer : target_tokenizer);
  options.source.vocab_size = source_vocab_size >= 0 ? source_vocab_size : vocab_size;
  options.target.vocab_size = target_vocab_size >= 0 ? target_vocab_size : vocab_size;
  options.source.min_count = options.target.min_count = min_count;
  if (!options.source.sentencepiece_model.empty())
    options.source.tokenizer = data::TokenizerKind::kSentencePiece;
  if (!options.target.sentencepiece_model.empty())
    options.target.tokenizer = data::TokenizerKind::kSentencePiece;
  if (!quiet)
    options.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };

  const data::PrepSummary summary = data::run_prep(options);
  std::printf("tandem-prep: wrote %s\n%s", options.output.c_str(), summary.to_text().c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return apps::run_program("tandem-prep", [&] { return run(argc, argv); });
}
