// tandem-prep: parallel text (TSV or two aligned files) -> vocabularies + sharded HDF5 corpus.
// All the work is in data/prep.cpp; this file is the command line.
#include <cstdio>
#include <iostream>
#include <string>

#include "data/prep.h"
#include "ops/errors.h"
#include "ops/exit_codes.h"
#include "trainer/apps/program_main.h"

namespace {

using namespace tandem;

// The command line: PrepOptions plus the per-side options given once for both sides.
struct Cli {
  data::PrepOptions options;
  data::TokenizerKind tokenizer = data::TokenizerKind::kChar;
  std::string source_tokenizer, target_tokenizer;
  int64_t vocab_size = 0, source_vocab_size = -1, target_vocab_size = -1, min_count = 1;
  bool quiet = false, help = false;
};

// THE table of tandem-prep's options.
Settings prep_settings(Cli& cli) {
  data::PrepOptions& o = cli.options;
  Settings settings;
  settings.group("Input (UTF-8)")
      .add("train", o.train_tsv, "training pairs: a TSV file, \"source<TAB>target\" per line")
      .add("train-src", o.train_source, "... or two line-aligned files: the source side")
      .add("train-tgt", o.train_target, "    and the target side")
      .add("valid", o.valid_tsv, "validation pairs (TSV)")
      .add("valid-src", o.valid_source, "validation source file (aligned form)")
      .add("valid-tgt", o.valid_target, "validation target file (aligned form)")
      .add("valid-fraction", o.valid_fraction,
           "or move this fraction of the training pairs to validation (chosen by a seeded hash "
           "of the source text, so pairs with the same source stay together)")
      .add("seed", o.seed, "seed of the validation split");
  settings.group("Output")
      .add("output,o", o.output, "corpus directory (created; see docs/corpus.md)")
      .add_switch(
          "force", o.force,
          "replace an earlier tandem corpus in that directory (only the files its manifest lists)")
      .add("shards", o.shards, "number of training shards (0: use --shard-size)")
      .add("shard-size", o.shard_size, "examples per shard")
      .add("deflate", o.deflate, "HDF5 deflate level 0 (off) .. 9");
  settings.group("Tokenisation and vocabulary")
      .add("tokenizer", cli.tokenizer, data::kTokenizerNames,
           "both sides: Unicode characters, whitespace-separated words or subwords")
      .add("src-tokenizer", cli.source_tokenizer, "source side only (overrides --tokenizer)")
      .add("tgt-tokenizer", cli.target_tokenizer, "target side only (overrides --tokenizer)")
      .add("vocab-size", cli.vocab_size,
           "vocabulary cap per side, incl. 4 reserved ids (0: no cap); the SentencePiece model "
           "size (default 8000)")
      .add("src-vocab-size", cli.source_vocab_size, "source side only (-1: --vocab-size)")
      .add("tgt-vocab-size", cli.target_vocab_size, "target side only (-1: --vocab-size)")
      .add("min-freq", cli.min_count, "char/word tokens seen fewer times become <unk>")
      .add("sp-model-type", o.sentencepiece_type, "bpe or unigram")
      .add("sp-normalization", o.sentencepiece_normalization,
           "SentencePiece's normalisation of the text it trains on and encodes: identity (text as "
           "written, e.g. Chinese full-width punctuation kept), nmt_nfkc (SentencePiece's "
           "default), nfkc, nmt_nfkc_cf, nfkc_cf")
      .add("src-sp-model", o.source.sentencepiece_model,
           "use this SentencePiece .model for the source")
      .add("tgt-sp-model", o.target.sentencepiece_model,
           "use this SentencePiece .model for the target")
      .add("sp-sample", o.sentencepiece_sample,
           "sentences (the first ones) used to train SentencePiece")
      .range(1, 1e9);
  settings.group("Filters")
      .add("max-len", o.max_length,
           "drop pairs with more tokens than this on either side (0: no limit); counted")
      .add_switch("skip-bad-lines", o.read.skip_bad_lines,
                  "skip and count lines without exactly one TAB, with invalid UTF-8 or too long, "
                  "instead of stopping")
      .add("max-line-bytes", o.read.max_line_bytes, "longest accepted line")
      .add_switch("quiet,q", cli.quiet, "no progress lines")
      .add_switch("help,h", cli.help, "show this help");
  return settings;
}

constexpr const char* kCaption =
    "tandem-prep: parallel text -> vocabularies + sharded HDF5 corpus\n\n"
    "  tandem-prep --train pairs.tsv --valid-fraction 0.05 -o corpus/\n"
    "  tandem-prep --train-src a.en --train-tgt a.de --tokenizer sentencepiece "
    "--vocab-size 8000 -o corpus/\n";

// The per-side options from the ones given for both sides.
void resolve_sides(Cli& cli) {
  data::PrepOptions& options = cli.options;
  options.source.tokenizer = cli.source_tokenizer.empty()
                                 ? cli.tokenizer
                                 : data::kTokenizerNames.parse(cli.source_tokenizer);
  options.target.tokenizer = cli.target_tokenizer.empty()
                                 ? cli.tokenizer
                                 : data::kTokenizerNames.parse(cli.target_tokenizer);
  options.source.vocab_size = cli.source_vocab_size >= 0 ? cli.source_vocab_size : cli.vocab_size;
  options.target.vocab_size = cli.target_vocab_size >= 0 ? cli.target_vocab_size : cli.vocab_size;
  options.source.min_count = options.target.min_count = cli.min_count;
  if (!options.source.sentencepiece_model.empty())
    options.source.tokenizer = data::TokenizerKind::kSentencePiece;
  if (!options.target.sentencepiece_model.empty())
    options.target.tokenizer = data::TokenizerKind::kSentencePiece;
}

int run(int argc, char** argv) {
  Cli cli;
  const Settings settings = prep_settings(cli);
  const auto options = apps::options_of(settings, kCaption);
  apps::parse_options(argc, argv, settings, options, "");
  if (cli.help || argc == 1) {
    std::cout << options << "\n";
    return argc == 1 ? kExitUsage : kExitDone;
  }
  resolve_sides(cli);
  if (!cli.quiet)
    cli.options.progress = [](const std::string& line) {
      std::fprintf(stderr, "%s\n", line.c_str());
    };
  const data::PrepSummary summary = data::run_prep(cli.options);
  std::printf("tandem-prep: wrote %s\n%s", cli.options.output.c_str(), summary.to_text().c_str());
  return kExitDone;
}

}  // namespace

int main(int argc, char** argv) {
  return apps::run_program("tandem-prep", argc, argv, [&] { return run(argc, argv); });
}
