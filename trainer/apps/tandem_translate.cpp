// tandem-translate: decodes source lines with a trained checkpoint (greedy or beam search) and
// scores the output against references.
//   tandem-translate --checkpoint RUN_DIR < words.txt > pronunciations.txt
//   tandem-translate --checkpoint RUN_DIR --test test.tsv --metrics wer,per
//   mpirun -np 4 tandem-translate --checkpoint RUN_DIR --input big.txt --output out.txt
//   tandem-translate --hypotheses out.txt --reference ref.txt        (scoring only)
// Rank 0 reads the input and writes the output in input order; decoding batches are formed from
// the source lengths alone and dealt to the ranks whole, so any rank count gives the same output.
// A line that cannot be translated (invalid UTF-8, empty, too long) gets a warning naming it and
// an empty output line. Exit codes: 0 done, 1 error, 2 bad command line.

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "data/atomic_file.h"
#include "data/text_pairs.h"
#include "data/utf8.h"
#include "ops/errors.h"
#include "ops/exit_codes.h"
#include "ops/memory_scope.h"
#include "trainer/apps/mpi_program_main.h"
#include "trainer/apps/program_main.h"
#include "trainer/decode/scoring.h"
#include "trainer/decode/translator.h"
#include "trainer/dist/agreement.h"
#include "trainer/dist/mpi_world.h"

namespace {

namespace po = boost::program_options;
using namespace tandem;
using nlohmann::json;

constexpr size_t kMaxLineBytes = 1 << 20;
constexpr int kWarningsShown = 20;

struct Cli {
  trainer::TranslatorOptions translator;
  std::vector<std::string> ensemble;  // more checkpoints whose models decode together
  bool latest = false;
  std::string input, output, test, hypotheses, scores_json, attention_dump;
  std::string metrics = "bleu,chrf,wer,per";
  std::string bleu_tokenize = "auto";
  int bootstrap = 0;
  std::vector<std::string> references;
  trainer::BeamOptions beam;
  int batch_size = 32, threads = 0;
  bool replace_unk = false, quiet = false, help = false;
};

// THE table of tandem-translate's options.
Settings translate_settings(Cli& cli) {
  Settings settings;
  settings.persisted(false)
      .group("Model")
      .add("checkpoint", cli.translator.checkpoint,
           "checkpoint file, or a run/checkpoint directory (its best checkpoint, else the latest)")
      .add_switch("latest", cli.latest, "for a directory: the latest checkpoint, not the best")
      .add_list("ensemble", cli.ensemble,
                "another checkpoint (file or directory; repeat the option for more) decoding "
                "together with --checkpoint: each step's log-probabilities are the models' mean; "
                "same vocabularies required")
      .add("corpus", cli.translator.corpus,
           "corpus directory with the vocabularies (default: the one the run trained on)");
  settings.group("Input and output")
      .add("input", cli.input, "source lines (default: standard input)")
      .add("output", cli.output, "hypotheses, one line per input line (default: stdout)")
      .add("test", cli.test,
           "a TSV 'source<TAB>reference' to decode and score instead of --input; lines with the "
           "same source are one sentence with several references (output: "
           "'source<TAB>hypothesis')")
      .add("max-source-tokens", cli.translator.max_source_tokens,
           "longer sources are refused per line (0: 2 x the longest training source, at least 64)")
      .range(0, 1e6)
      .add("attention-dump", cli.attention_dump,
           "write each decoded line's attention weights (JSON lines; scripts/plot_attention.py)")
      .add_switch("quiet", cli.quiet, "no summary line");
  settings.group("Search")
      .add("beam", cli.beam.beam_size, "beam size (1: greedy)")
      .range(1, 100)
      .add("length-penalty", cli.beam.length_penalty,
           "rank hypotheses by log P / length^alpha (0: raw log P)")
      .range(0, 10)
      .add("max-length-factor", cli.beam.max_length_factor,
           "at most factor x source length + 10 target tokens")
      .above(0, 10)
      .add("n-best", cli.beam.n_best,
           "hypotheses per line (at most --beam); > 1 writes 'LINE ||| hypothesis ||| score ||| "
           "log P' (LINE from 0)")
      .range(1, 100)
      .add_switch("replace-unk", cli.replace_unk,
                  "replace each output <unk> by the source token attended to most")
      .add("batch-size", cli.batch_size, "sentences per decoding batch")
      .range(1, 1e5)
      .add("threads", cli.threads,
           "OpenMP threads per rank (0: the node's cores / ranks on the node)")
      .range(0, 4096);
  settings.group("Scoring")
      .add_list("reference", cli.references,
                "reference file aligned with the input (repeat for several references)")
      .add("hypotheses", cli.hypotheses, "score this file against --reference instead of decoding")
      .add("metrics", cli.metrics,
           "any of bleu (sacreBLEU 13a), chrf, wer (sentence error rate), per (token error rate)")
      .add("bleu-tokenize", cli.bleu_tokenize,
           "BLEU tokeniser, as sacreBLEU's: 13a, zh (Chinese characters split, then 13a), char, "
           "none, or auto (zh when most reference characters are Chinese, else 13a)")
      .add("bootstrap", cli.bootstrap,
           "also print 95 % confidence intervals of BLEU and chrF from this many bootstrap "
           "resamples of the sentences (0: none; 1000 is usual)")
      .range(0, 1e6)
      .add("scores-json", cli.scores_json, "also write the scores as JSON to this file")
      .add_switch("help,h", cli.help, "this help");
  return settings;
}

constexpr const char* kCaption =
    "tandem-translate: decode with a trained checkpoint and score the output\n"
    "  tandem-translate --checkpoint run/ < input.txt > output.txt\n"
    "  tandem-translate --checkpoint run/ --test test.tsv --metrics wer,per\n"
    "  mpirun -np 4 tandem-translate --checkpoint run/ --input big.txt --output out.txt";

// What rank 0 read: the source lines, and for scoring the references of each.
struct Input {
  std::string name;  // for messages
  std::vector<std::string> sources;
  std::vector<int64_t> line_numbers;                 // 1-based, of each source
  std::vector<std::vector<std::string>> references;  // per source; empty without references
  std::vector<std::string> read_problems;            // per source: "" or why it was not read
};

std::vector<std::string> read_lines(const std::string& path,
                                    std::vector<bool>* too_long = nullptr) {
  data::LineReader reader(path);
  std::vector<std::string> lines;
  std::string line;
  bool over = false;
  while (reader.next(line, over, kMaxLineBytes)) {
    if (over && !too_long)
      throw FormatError(path + ":" + std::to_string(reader.line_number()) +
                        ": line longer than 1 MiB");
    if (too_long) too_long->push_back(over);
    lines.push_back(line);
  }
  return lines;
}

std::string trimmed(const std::string& text) {
  const size_t first = text.find_first_not_of(" \t\r\n\f\v");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n\f\v") - first + 1);
}

// --test: "source<TAB>reference" lines; repeated sources gather their references.
Input read_test_file(const std::string& path) {
  Input input;
  input.name = path;
  std::map<std::string, size_t> index_of;
  const std::vector<std::string> lines = read_lines(path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string where = path + ":" + std::to_string(i + 1);
    if (trimmed(lines[i]).empty()) continue;
    const size_t tab = lines[i].find('\t');
    if (tab == std::string::npos || lines[i].find('\t', tab + 1) != std::string::npos)
      throw FormatError(where + ": expected 'source<TAB>reference' (exactly one TAB)");
    if (!data::is_valid_utf8(lines[i])) throw FormatError(where + ": invalid UTF-8");
    const std::string source = trimmed(lines[i].substr(0, tab));
    auto [it, added] = index_of.emplace(source, input.sources.size());
    if (added) {
      input.sources.push_back(source);
      input.line_numbers.push_back(static_cast<int64_t>(i + 1));
      input.references.emplace_back();
    }
    input.references[it->second].push_back(trimmed(lines[i].substr(tab + 1)));
  }
  return input;
}

// --reference files, each aligned with `count` lines.
std::vector<std::vector<std::string>> read_references(const std::vector<std::string>& paths,
                                                      size_t count) {
  std::vector<std::vector<std::string>> references(count);
  for (const std::string& path : paths) {
    const std::vector<std::string> lines = read_lines(path);
    if (lines.size() != count)
      throw FormatError(path + ": has " + std::to_string(lines.size()) +
                        " lines, the hypotheses/input have " + std::to_string(count));
    for (size_t i = 0; i < count; ++i) {
      if (!data::is_valid_utf8(lines[i]))
        throw FormatError(path + ":" + std::to_string(i + 1) + ": invalid UTF-8");
      references[i].push_back(trimmed(lines[i]));
    }
  }
  return references;
}

Input read_input(const Cli& cli) {
  if (!cli.test.empty()) return read_test_file(cli.test);
  Input input;
  input.name = cli.input.empty() ? "<stdin>" : cli.input;
  std::vector<bool> too_long;
  input.sources = read_lines(cli.input.empty() ? "/dev/stdin" : cli.input, &too_long);
  for (size_t i = 0; i < input.sources.size(); ++i) {
    input.line_numbers.push_back(static_cast<int64_t>(i + 1));
    // An over-long line keeps its place as an empty source (no rank decodes it).
    input.read_problems.push_back(too_long[i] ? "line longer than 1 MiB" : "");
    if (too_long[i]) input.sources[i].clear();
  }
  if (!cli.references.empty())
    input.references = read_references(cli.references, input.sources.size());
  return input;
}

bool wants(const std::string& metrics, const std::string& name) {
  std::stringstream list(metrics);
  std::string item;
  while (std::getline(list, item, ','))
    if (item == name) return true;
  return false;
}

// Prints the chosen scores (stderr) and returns them as JSON.
json score(const std::vector<trainer::ScoredSentence>& sentences, const Cli& cli) {
  const std::string& metrics = cli.metrics;
  json scores;
  scores["sentences"] = sentences.size();
  const trainer::BleuTokenizer tokenizer =
      cli.bleu_tokenize == "auto" ? trainer::bleu_tokenizer_for(sentences)
                                  : trainer::kBleuTokenizerNames.parse(cli.bleu_tokenize);
  if (wants(metrics, "bleu")) {
    const trainer::BleuScore bleu = trainer::corpus_bleu(sentences, tokenizer);
    const std::string signature = trainer::bleu_signature(sentences, tokenizer);
    std::fprintf(stderr, "%s  %s\n", trainer::format_bleu(bleu).c_str(), signature.c_str());
    scores["bleu"] = bleu.score;
    scores["bleu_signature"] = signature;
  }
  if (wants(metrics, "chrf")) {
    const double chrf = trainer::corpus_chrf(sentences);
    std::fprintf(stderr, "chrF2 = %.2f\n", chrf);
    scores["chrf"] = chrf;
  }
  if (cli.bootstrap > 0 && (wants(metrics, "bleu") || wants(metrics, "chrf"))) {
    const trainer::BootstrapIntervals ci =
        trainer::bootstrap_intervals(sentences, tokenizer, cli.bootstrap);
    std::fprintf(stderr,
                 "95 %% confidence (bootstrap, %d resamples): BLEU [%.2f, %.2f]  chrF2 [%.2f, "
                 "%.2f]\n",
                 ci.samples, ci.bleu.low, ci.bleu.high, ci.chrf.low, ci.chrf.high);
    scores["bleu_ci95"] = {ci.bleu.low, ci.bleu.high};
    scores["chrf_ci95"] = {ci.chrf.low, ci.chrf.high};
    scores["bootstrap"] = ci.samples;
  }
  if (wants(metrics, "wer") || wants(metrics, "per")) {
    const trainer::TokenErrorRates rates = trainer::token_error_rates(sentences);
    if (wants(metrics, "wer")) {
      std::fprintf(stderr, "WER = %.2f %%  (sentences matching no reference: %lld of %lld)\n",
                   rates.sequence_error_rate(), static_cast<long long>(rates.sentence_errors),
                   static_cast<long long>(rates.sentences));
      scores["wer"] = rates.sequence_error_rate();
    }
    if (wants(metrics, "per")) {
      std::fprintf(stderr, "PER = %.2f %%  (%lld token edits / %lld reference tokens)\n",
                   rates.token_error_rate(), static_cast<long long>(rates.token_edits),
                   static_cast<long long>(rates.reference_tokens));
      scores["per"] = rates.token_error_rate();
    }
  }
  return scores;
}

void write_output(const std::string& path, const std::string& text) {
  if (path.empty()) {
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() || std::fflush(stdout) != 0)
      throw IoError("<stdout>: write failed");
  } else {
    data::write_file_atomically(path, text);
  }
}

// Scoring only: --hypotheses against --reference.
int score_files(const Cli& cli) {
  const std::vector<std::string> hypotheses = read_lines(cli.hypotheses);
  const auto references = read_references(cli.references, hypotheses.size());
  std::vector<trainer::ScoredSentence> sentences;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    if (!data::is_valid_utf8(hypotheses[i]))
      throw FormatError(cli.hypotheses + ":" + std::to_string(i + 1) + ": invalid UTF-8");
    sentences.push_back({trimmed(hypotheses[i]), references[i]});
  }
  json scores = score(sentences, cli);
  if (!cli.scores_json.empty()) data::write_file_atomically(cli.scores_json, scores.dump(1) + "\n");
  return kExitDone;
}

// This rank's share of the decoding: whole batches b with b % ranks == rank. Returns JSON
// records {"i": source index, "nbest": [[text, score, log P], ...], "attention": {...}}.
json decode_share(const trainer::MpiWorld& world, trainer::Translator& translator,
                  const trainer::Ensemble& models,
                  const std::vector<trainer::PreparedSource>& prepared, const Cli& cli) {
  std::vector<std::vector<int32_t>> sources;
  std::vector<size_t> source_index;  // position in `prepared` of each entry of `sources`
  for (size_t i = 0; i < prepared.size(); ++i)
    if (prepared[i].problem.empty()) sources.push_back(prepared[i].ids), source_index.push_back(i);
  const auto batches = trainer::plan_decoding_batches(sources, cli.batch_size);
  json records = json::array();
  const bool dump_attention =
      !cli.attention_dump.empty() &&
      translator.model().config().attention != trainer::AttentionType::kNone;
  for (size_t b = static_cast<size_t>(world.rank()); b < batches.size();
       b += static_cast<size_t>(world.size())) {
    const auto hypotheses = ops::allocating(
        "decoding a batch of " + std::to_string(batches[b].size()) + " lines with beam " +
            std::to_string(cli.beam.beam_size),
        [&] { return trainer::decode_sources(models, sources, batches[b], cli.beam); });
    for (size_t k = 0; k < batches[b].size(); ++k) {
      const size_t i = source_index[batches[b][k]];
      json record = {{"i", i}, {"nbest", json::array()}};
      for (const trainer::Hypothesis& hypothesis : hypotheses[k])
        record["nbest"].push_back(
            {translator.detokenize(hypothesis.tokens, cli.replace_unk ? &prepared[i] : nullptr),
             hypothesis.score, hypothesis.log_probability});
      if (dump_attention) {
        const auto& best = hypotheses[k].front().tokens;
        std::vector<std::string> target = translator.target_tokens(best);
        target.push_back("</s>");
        const std::vector<float> weights =
            translator.model().attention_matrix(prepared[i].ids, best);
        json rows = json::array();
        const size_t S = prepared[i].ids.size();
        for (size_t t = 0; t < target.size(); ++t)
          rows.push_back(
              std::vector<float>(weights.begin() + static_cast<std::ptrdiff_t>(t * S),
                                 weights.begin() + static_cast<std::ptrdiff_t>((t + 1) * S)));
        record["attention"] = {
            {"source", prepared[i].tokens}, {"target", target}, {"weights", rows}};
      }
      records.push_back(std::move(record));
    }
  }
  return records;
}

// Rank 0 reads the input; every rank learns the sources (or the same reading error).
Input read_and_share_input(const trainer::MpiWorld& world, const Cli& cli) {
  Input input;
  trainer::collective_try(world, [&] {
    if (world.rank() == 0) input = read_input(cli);
  });
  world.broadcast(input.sources, 0);
  return input;
}

// Every rank loads the models (--checkpoint first, then each --ensemble one); a failure anywhere
// ends all of them with its message. Ensemble members must share the first one's vocabularies.
std::vector<std::unique_ptr<trainer::Translator>> load_translators(const trainer::MpiWorld& world,
                                                                   const Cli& cli,
                                                                   ops::DnnlContext& ctx) {
  std::vector<std::unique_ptr<trainer::Translator>> translators;
  trainer::collective_try(world, [&] {
    trainer::TranslatorOptions options = cli.translator;
    options.prefer_best = !cli.latest;
    translators.push_back(std::make_unique<trainer::Translator>(options, ctx));
    for (const std::string& checkpoint : cli.ensemble) {
      options.checkpoint = checkpoint;
      translators.push_back(std::make_unique<trainer::Translator>(options, ctx));
      for (bool source : {true, false})
        if (translators.back()->vocabulary(source).checksum() !=
            translators.front()->vocabulary(source).checksum())
          throw ConfigError("ensemble: " + translators.back()->checkpoint_path() + " has another " +
                            (source ? "source" : "target") + " vocabulary than " +
                            translators.front()->checkpoint_path());
    }
  });
  return translators;
}

// Every rank's decoded records, by source index.
std::vector<json> merge_shares(const std::vector<std::string>& shares, size_t count) {
  std::vector<json> results(count);
  for (const std::string& share : shares)
    for (json& record : json::parse(share)) {
      const size_t index = record["i"].get<size_t>();
      results[index] = std::move(record);
    }
  return results;
}

// What rank 0 writes: the output lines, the attention dump, and what to score.
struct Output {
  std::string text, attention;
  std::vector<trainer::ScoredSentence> scored;
  int64_t refused = 0;
};

Output format_output(const Input& input, const std::vector<trainer::PreparedSource>& prepared,
                     const std::vector<json>& results, const Cli& cli) {
  Output out;
  for (size_t i = 0; i < prepared.size(); ++i) {
    std::string best;
    if (!prepared[i].problem.empty()) {
      if (out.refused++ < kWarningsShown)
        std::fprintf(stderr, "tandem-translate: warning: %s:%lld: %s; its output is empty\n",
                     input.name.c_str(), static_cast<long long>(input.line_numbers[i]),
                     prepared[i].problem.c_str());
    } else {
      best = results[i]["nbest"][0][0].get<std::string>();
      if (results[i].contains("attention")) {
        json line = results[i]["attention"];
        line["line"] = input.line_numbers[i];
        out.attention += line.dump() + "\n";
      }
    }
    if (cli.beam.n_best > 1) {
      if (!prepared[i].problem.empty())  // one empty entry keeps the refused line's place
        out.text += std::to_string(i) + " |||  ||| -inf ||| -inf\n";
      else
        for (const json& entry : results[i]["nbest"]) {
          char numbers[64];
          std::snprintf(numbers, sizeof numbers, " ||| %.6f ||| %.6f\n", entry[1].get<double>(),
                        entry[2].get<double>());
          out.text += std::to_string(i) + " ||| " + entry[0].get<std::string>() + numbers;
        }
    } else if (!cli.test.empty()) {
      out.text += input.sources[i] + "\t" + best + "\n";
    } else {
      out.text += best + "\n";
    }
    if (!input.references.empty()) out.scored.push_back({best, input.references[i]});
  }
  if (out.refused > kWarningsShown)
    std::fprintf(stderr, "tandem-translate: warning: %lld more lines refused (not shown)\n",
                 static_cast<long long>(out.refused - kWarningsShown));
  return out;
}

int translate(trainer::MpiWorld& world, const Cli& cli) {
  const auto started = std::chrono::steady_clock::now();
  const Input input = read_and_share_input(world, cli);
  ops::DnnlContext ctx;
  const auto translators = load_translators(world, cli, ctx);
  trainer::Translator* translator = translators.front().get();
  trainer::Ensemble models;
  for (const auto& member : translators) models.push_back(&member->model());
  std::vector<trainer::PreparedSource> prepared;
  for (const std::string& line : input.sources) prepared.push_back(translator->prepare(line));
  for (size_t i = 0; i < input.read_problems.size(); ++i)  // rank 0 knows why a line was emptied
    if (!input.read_problems[i].empty()) prepared[i].problem = input.read_problems[i];
  const json mine = decode_share(world, *translator, models, prepared, cli);
  const std::vector<std::string> shares = world.all_gather(mine.dump());
  if (world.rank() != 0) return kExitDone;

  const Output out = format_output(input, prepared, merge_shares(shares, prepared.size()), cli);
  write_output(cli.output, out.text);
  if (!cli.attention_dump.empty()) data::write_file_atomically(cli.attention_dump, out.attention);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!cli.quiet)
    std::fprintf(stderr,
                 "tandem-translate: %zu lines (%lld refused) in %.1f s (%.0f lines/s) with %s "
                 "(step %lld), beam %d, %d rank(s)\n",
                 prepared.size(), static_cast<long long>(out.refused), seconds,
                 static_cast<double>(prepared.size()) / std::max(seconds, 1e-9),
                 translator->checkpoint_path().c_str(), static_cast<long long>(translator->step()),
                 cli.beam.beam_size, world.size());
  if (!out.scored.empty()) {
    json scores = score(out.scored, cli);
    scores["checkpoint"] = translator->checkpoint_path();
    scores["step"] = translator->step();
    scores["beam"] = cli.beam.beam_size;
    scores["refused"] = out.refused;
    scores["seconds"] = seconds;
    if (!cli.scores_json.empty())
      data::write_file_atomically(cli.scores_json, scores.dump(1) + "\n");
  }
  return kExitDone;
}

// The scoring options, also checked when only scoring (--hypotheses).
void check_scoring(const Cli& cli) {
  for (std::stringstream list(cli.metrics); !list.eof();) {
    std::string item;
    std::getline(list, item, ',');
    if (item != "bleu" && item != "chrf" && item != "wer" && item != "per")
      throw ConfigError("metrics: unknown metric '" + item + "' (bleu, chrf, wer, per)");
  }
  const auto tokenizers = trainer::kBleuTokenizerNames.values();
  if (cli.bleu_tokenize != "auto" &&
      std::none_of(tokenizers.begin(), tokenizers.end(), [&](trainer::BleuTokenizer t) {
        return trainer::kBleuTokenizerNames.name(t) == cli.bleu_tokenize;
      }))
    throw ConfigError("bleu-tokenize: expected auto or " + trainer::kBleuTokenizerNames.choices() +
                      ", got '" + cli.bleu_tokenize + "'");
}

// Checks between options (each option's own range is in the settings table).
void check(const Cli& cli) {
  if (cli.help) return;
  check_scoring(cli);
  if (!cli.hypotheses.empty()) {
    if (cli.references.empty()) throw ConfigError("hypotheses: scoring needs --reference FILE");
    return;
  }
  if (cli.translator.checkpoint.empty())
    throw ConfigError("checkpoint: required (file or run directory)");
  if (!cli.test.empty() && (!cli.input.empty() || !cli.references.empty()))
    throw ConfigError("test: holds the references; not with --input or --reference");
  if (cli.beam.n_best > cli.beam.beam_size)
    throw ConfigError("n-best: must be between 1 and --beam");
}

int run(int argc, char** argv, trainer::MpiWorld& world) {
  Cli cli;
  const Settings settings = translate_settings(cli);
  const po::options_description options = apps::options_of(settings, kCaption);
  apps::parse_agreed(world, [&] {
    apps::parse_options(argc, argv, settings, options, "");
    check(cli);
  });
  if (cli.help) {
    if (world.rank() == 0) std::cout << options << "\n";
    return kExitDone;
  }
  if (!cli.hypotheses.empty()) return world.rank() == 0 ? score_files(cli) : kExitDone;
  apps::set_threads(world, "tandem-translate", cli.threads);
  return translate(world, cli);
}

}  // namespace

int main(int argc, char** argv) {
  return apps::run_mpi_program("tandem-translate", &argc, &argv,
                               [&](trainer::MpiWorld& world) { return run(argc, argv, world); });
}
