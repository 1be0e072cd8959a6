#include "data/prep.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "data/atomic_file.h"
#include "data/batch.h"
#include "data/corpus.h"
#include "ops/errors.h"
#include "ops/rng.h"

namespace tandem::data {
namespace {

namespace fs = std::filesystem;

// Token-length histogram for percentiles without storing every length.
class LengthHistogram {
 public:
  void add(int64_t length) {
    if (static_cast<size_t>(length) >= counts_.size())
      counts_.resize(static_cast<size_t>(length) + 1, 0);
    ++counts_[static_cast<size_t>(length)];
    ++total_;
  }
  int64_t percentile(double p) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<int64_t>(p * static_cast<double>(total_ - 1));
    int64_t seen = 0;
    for (size_t length = 0; length < counts_.size(); ++length) {
      seen += counts_[length];
      if (seen > rank) return static_cast<int64_t>(length);
    }
    return static_cast<int64_t>(counts_.size()) - 1;
  }

 private:
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
};

struct OovCount {
  int64_t tokens = 0, unknown = 0;
  double rate() const { return tokens ? static_cast<double>(unknown) / tokens : 0.0; }
};

// Which input files a split comes from.
struct Input {
  std::string tsv, source, target;
  bool present() const { return !tsv.empty() || !source.empty(); }
  std::unique_ptr<TextPairReader> open(const TextReadOptions& options) const {
    if (!tsv.empty()) return std::make_unique<TextPairReader>(tsv, options);
    return std::make_unique<TextPairReader>(source, target, options);
  }
};

Input checked_input(const std::string& tsv, const std::string& source, const std::string& target,
                    const char* name) {
  const std::string prefix = name;
  require_config(tsv.empty() || (source.empty() && target.empty()), prefix,
                 "give either --" + prefix + " FILE.tsv or --" + prefix + "-src/--" + prefix +
                     "-tgt, not both");
  require_config(source.empty() == target.empty(), prefix + "-src",
                 "--" + prefix + "-src and --" + prefix + "-tgt go together");
  // Prep reads the training input twice (vocabulary, then shards): a pipe such as <(...) would
  // be empty on the second pass and silently give a corpus without examples.
  for (const std::string* path : {&tsv, &source, &target}) {
    if (path->empty()) continue;
    std::error_code error;
    const fs::file_status status = fs::status(*path, error);
    if (error || !fs::exists(status)) throw IoError(*path + ": cannot open (no such file)");
    if (!fs::is_regular_file(status))
      throw IoError(*path +
                    ": not a regular file (a pipe or device?); tandem-prep reads its "
                    "input twice, so write it to a file first");
  }
  return {tsv, source, target};
}

bool goes_to_valid(const PrepOptions& options, const std::string& source) {
  return options.valid_fraction > 0.0 &&
         ops::uniform01(ops::combine_keys(options.seed, 0x76616C6964ull),
                        ops::hash_string(source)) < static_cast<float>(options.valid_fraction);
}

void prepare_output_directory(const PrepOptions& options) {
  const fs::path directory(options.output);
  if (fs::exists(directory)) {
    require_config(fs::is_directory(directory), "output",
                   options.output + " exists and is not a directory");
    const bool empty = fs::directory_iterator(directory) == fs::directory_iterator();
    require_config(
        empty || options.force, "output",
        options.output + " exists and is not empty; use --force to overwrite the corpus in it");
    if (!empty) {
      // The manifest goes first, so a run interrupted from here on leaves no complete-looking
      // corpus.
      fs::remove(directory / kManifestFile);
      for (const auto& entry : fs::directory_iterator(directory)) {
        const std::string extension = entry.path().extension().string();
        if (extension == ".h5" || extension == ".tmp" || extension == ".vocab" ||
            extension == ".model")
          fs::remove(entry.path());
      }
    }
  }
  std::error_code error;
  fs::create_directories(directory, error);
  if (error)
    throw IoError(options.output + ": cannot create the directory (" + error.message() + ")");
}

class Progress {
 public:
  Progress(const PrepOptions& options, const char* pass) : options_(options), pass_(pass) {}
  void line(int64_t lines) {
    if (!options_.progress || options_.progress_every <= 0 || lines % options_.progress_every != 0)
      return;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char text[160];
    std::snprintf(text, sizeof text, "%s: %lld lines (%.0f lines/s)", pass_,
                  static_cast<long long>(lines), lines / std::max(seconds, 1e-9));
    options_.progress(text);
  }

 private:
  const PrepOptions& options_;
  const char* pass_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// Writes the examples of one split into shards of `shard_size`.
class SplitWriter {
 public:
  SplitWriter(const PrepOptions& options, const Manifest& manifest, std::string split,
              int64_t shard_size)
      : split_(std::move(split)),
        shard_size_(shard_size),
        writer_(options.output, split_, manifest, options.deflate) {}
  void add(const std::vector<int32_t>& source, const std::vector<int32_t>& target) {
    writer_.add(source, target);
    if (writer_.size() >= shard_size_) flush();
  }
  std::vector<ShardEntry> finish() {
    flush();
    return entries_;
  }

 private:
  void flush() {
    if (writer_.size() == 0) return;
    char name[64];
    std::snprintf(name, sizeof name, "%s.%05zu.h5", split_.c_str(), entries_.size());
    entries_.push_back(writer_.write(name));
  }
  std::string split_;
  int64_t shard_size_;
  ShardWriter writer_;
  std::vector<ShardEntry> entries_;
};

void add_read_counts(PrepSummary& summary, const TextReadCounts& counts) {
  summary.lines += counts.lines;
  summary.blank += counts.blank;
  summary.bad_tabs += counts.bad_tabs;
  summary.bad_utf8 += counts.bad_utf8;
  summary.line_too_long += counts.too_long;
}

std::string percent(double rate) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f%%", 100.0 * rate);
  return text;
}

}  // namespace

std::string PrepSummary::to_json() const {
  nlohmann::json j;
  j["input_lines"] = lines;
  j["kept"] = {{"train", kept_train}, {"valid", kept_valid}};
  j["dropped"] = {{"blank_lines", blank},     {"empty_side", empty_side},
                  {"over_max_len", too_long}, {"bad_tab_count", bad_tabs},
                  {"invalid_utf8", bad_utf8}, {"line_too_long", line_too_long}};
  j["shards"] = {{"train", train_shards}, {"valid", valid_shards}};
  j["vocab_size"] = {{"source", source_vocab}, {"target", target_vocab}};
  j["oov_rate"] = {{"source", {{"train", source_oov_train}, {"valid", source_oov_valid}}},
                   {"target", {{"train", target_oov_train}, {"valid", target_oov_valid}}}};
  j["length_percentiles"] = {
      {"source",
       {{"p50", source_p50}, {"p90", source_p90}, {"p99", source_p99}, {"max", source_max}}},
      {"target",
       {{"p50", target_p50}, {"p90", target_p90}, {"p99", target_p99}, {"max", target_max}}}};
  return j.dump();
}

std::string PrepSummary::to_text() const {
  char text[1200];
  std::snprintf(
      text, sizeof text,
      "input lines        %lld\n"
      "kept               train %lld, valid %lld (shards: train %lld, valid %lld)\n"
      "dropped            blank %lld, empty side %lld, over --max-len %lld, bad TAB count %lld, "
      "invalid UTF-8 %lld, line too long %lld\n"
      "vocabulary         source %d, target %d\n"
      "OOV rate           source train %s valid %s; target train %s valid %s\n"
      "source lengths     p50 %lld, p90 %lld, p99 %lld, max %lld tokens\n"
      "target lengths     p50 %lld, p90 %lld, p99 %lld, max %lld tokens\n",
      static_cast<long long>(lines), static_cast<long long>(kept_train),
      static_cast<long long>(kept_valid), static_cast<long long>(train_shards),
      static_cast<long long>(valid_shards), static_cast<long long>(blank),
      static_cast<long long>(empty_side), static_cast<long long>(too_long),
      static_cast<long long>(bad_tabs), static_cast<long long>(bad_utf8),
      static_cast<long long>(line_too_long), source_vocab, target_vocab,
      percent(source_oov_train).c_str(), percent(source_oov_valid).c_str(),
      percent(target_oov_train).c_str(), percent(target_oov_valid).c_str(),
      static_cast<long long>(source_p50), static_cast<long long>(source_p90),
      static_cast<long long>(source_p99), static_cast<long long>(source_max),
      static_cast<long long>(target_p50), static_cast<long long>(target_p90),
      static_cast<long long>(target_p99), static_cast<long long>(target_max));
  return text;
}

PrepSummary run_prep(const PrepOptions& options) {
  const Input train =
      checked_input(options.train_tsv, options.train_source, options.train_target, "train");
  const Input valid =
      checked_input(options.valid_tsv, options.valid_source, options.valid_target, "valid");
  require_config(train.present(), "train",
                 "no training input (--train FILE.tsv or --train-src/--train-tgt)");
  require_config(!(valid.present() && options.valid_fraction > 0.0), "valid-fraction",
                 "give a validation input or a fraction, not both");
  require_config(options.valid_fraction >= 0.0 && options.valid_fraction < 1.0, "valid-fraction",
                 "must be in [0, 1)");
  require_config(!options.output.empty(), "output", "no output directory (--output DIR)");
  require_config(options.max_length >= 0, "max-len", "must not be negative");
  require_config(options.shards >= 0, "shards", "must not be negative");
  require_config(options.shard_size > 0, "shard-size", "must be positive");
  require_config(options.deflate >= 0 && options.deflate <= 9, "deflate", "must be in 0..9");
  for (const PrepSideOptions* side : {&options.source, &options.target}) {
    require_config(side->vocab_size >= 0, "vocab-size", "must not be negative");
    require_config(
        side->sentencepiece_model.empty() || side->tokenizer == TokenizerKind::kSentencePiece,
        "sp-model", "a SentencePiece model needs --tokenizer sentencepiece for that side");
  }
  prepare_output_directory(options);

  // Pass 1: count tokens (char/word) or collect a sample (SentencePiece) of the training pairs.
  PrepSummary summary;
  const PrepSideOptions* sides[2] = {&options.source, &options.target};
  std::unordered_map<std::string, int64_t> counts[2];
  std::vector<std::string> samples[2];
  std::unique_ptr<Tokenizer> tokenizers[2];
  for (int s = 0; s < 2; ++s)
    if (sides[s]->tokenizer != TokenizerKind::kSentencePiece ||
        !sides[s]->sentencepiece_model.empty())
      tokenizers[s] = make_tokenizer(sides[s]->tokenizer, sides[s]->sentencepiece_model);
  int64_t training_pairs = 0, physical_lines = 0;
  const std::string train_name = train.tsv.empty() ? train.source : train.tsv;
  {
    auto reader = train.open(options.read);
    Progress progress(options, "tandem-prep: pass 1");
    TextPair pair;
    int64_t lines = 0;
    while (reader->next(pair)) {
      progress.line(++lines);
      if (pair.source.empty() || pair.target.empty() || goes_to_valid(options, pair.source))
        continue;
      ++training_pairs;
      const std::string* texts[2] = {&pair.source, &pair.target};
      for (int s = 0; s < 2; ++s) {
        if (tokenizers[s] && tokenizers[s]->kind() != TokenizerKind::kSentencePiece) {
          for (std::string& token : tokenizers[s]->split(*texts[s])) ++counts[s][token];
        } else if (!tokenizers[s] &&
                   static_cast<int64_t>(samples[s].size()) < options.sentencepiece_sample) {
          samples[s].push_back(*texts[s]);
        }
      }
    }
    physical_lines = reader->counts().lines;
  }
  if (training_pairs == 0)
    throw FormatError(train_name + ": no usable training pairs (" + std::to_string(physical_lines) +
                      " lines read: every one was empty, malformed, too long or went to the "
                      "validation split)");

  // Vocabularies (and SentencePiece models), written before any shard: shards record checksums.
  Manifest manifest;
  SideInfo* infos[2] = {&manifest.source, &manifest.target};
  const char* prefixes[2] = {"src", "tgt"};
  Vocabulary vocabularies[2];
  for (int s = 0; s < 2; ++s) {
    SideInfo& info = *infos[s];
    info.tokenizer = sides[s]->tokenizer;
    if (info.tokenizer == TokenizerKind::kSentencePiece) {
      info.sentencepiece_model = std::string(prefixes[s]) + ".spm.model";
      const std::string model_path = options.output + "/" + info.sentencepiece_model;
      if (!sides[s]->sentencepiece_model.empty()) {
        write_file_atomically(model_path, read_file(sides[s]->sentencepiece_model));
      } else {
        train_sentencepiece(
            samples[s], static_cast<int>(sides[s]->vocab_size > 0 ? sides[s]->vocab_size : 8000),
            options.sentencepiece_type, model_path);
      }
      samples[s].clear();
      samples[s].shrink_to_fit();
      tokenizers[s] = make_tokenizer(info.tokenizer, model_path);
      vocabularies[s] = Vocabulary::from_tokens(tokenizers[s]->inventory(), {});
    } else {
      vocabularies[s] = Vocabulary::build(counts[s], sides[s]->vocab_size, sides[s]->min_count);
    }
    counts[s].clear();
    info.vocabulary_file = std::string(prefixes[s]) + ".vocab";
    info.vocab_size = vocabularies[s].size();
    info.vocab_checksum = vocabularies[s].checksum();
    vocabularies[s].save(options.output + "/" + info.vocabulary_file);
  }

  // Pass 2: tokenise, filter by length, write shards.
  const int64_t shard_size = options.shards > 0
                                 ? (training_pairs + options.shards - 1) / options.shards
                                 : options.shard_size;
  SplitWriter train_writer(options, manifest, "train", shard_size);
  SplitWriter valid_writer(options, manifest, "valid", shard_size);
  LengthHistogram lengths[2];
  OovCount oov[2][2];  // [side][0 train, 1 valid]
  std::vector<int32_t> ids[2];
  auto process = [&](const Input& input, bool validation_input) {
    auto reader = input.open(options.read);
    Progress progress(options,
                      validation_input ? "tandem-prep: validation" : "tandem-prep: pass 2");
    TextPair pair;
    int64_t lines = 0;
    while (reader->next(pair)) {
      progress.line(++lines);
      if (pair.source.empty() || pair.target.empty()) {
        ++summary.empty_side;
        continue;
      }
      const bool to_valid = validation_input || goes_to_valid(options, pair.source);
      const std::string* texts[2] = {&pair.source, &pair.target};
      bool too_long = false;
      for (int s = 0; s < 2; ++s) {
        ids[s].clear();
        for (const std::string& token : tokenizers[s]->split(*texts[s]))
          ids[s].push_back(vocabularies[s].id(token));
        too_long = too_long || (options.max_length > 0 &&
                                static_cast<int64_t>(ids[s].size()) > options.max_length);
      }
      if (ids[0].empty() || ids[1].empty()) {  // e.g. SentencePiece turned the text into nothing
        ++summary.empty_side;
        continue;
      }
      if (too_long) {
        ++summary.too_long;
        continue;
      }
      for (int s = 0; s < 2; ++s) {
        OovCount& count = oov[s][to_valid ? 1 : 0];
        count.tokens += static_cast<int64_t>(ids[s].size());
        count.unknown += std::count(ids[s].begin(), ids[s].end(), kUnkId);
        if (!to_valid) lengths[s].add(static_cast<int64_t>(ids[s].size()));
      }
      (to_valid ? valid_writer : train_writer).add(ids[0], ids[1]);
      ++(to_valid ? summary.kept_valid : summary.kept_train);
    }
    add_read_counts(summary, reader->counts());
  };
  process(train, false);
  if (summary.kept_train == 0)  // pass 1 found pairs: the file changed while prep read it
    throw FormatError(train_name +
                      ": the second reading found no usable training pairs (did "
                      "the file change while tandem-prep ran?)");
  if (valid.present()) process(valid, true);
  manifest.splits["train"] = train_writer.finish();
  manifest.splits["valid"] = valid_writer.finish();

  summary.train_shards = static_cast<int64_t>(manifest.splits["train"].size());
  summary.valid_shards = static_cast<int64_t>(manifest.splits["valid"].size());
  summary.source_vocab = vocabularies[0].size();
  summary.target_vocab = vocabularies[1].size();
  summary.source_oov_train = oov[0][0].rate();
  summary.source_oov_valid = oov[0][1].rate();
  summary.target_oov_train = oov[1][0].rate();
  summary.target_oov_valid = oov[1][1].rate();
  int64_t* percentiles[2][4] = {
      {&summary.source_p50, &summary.source_p90, &summary.source_p99, &summary.source_max},
      {&summary.target_p50, &summary.target_p90, &summary.target_p99, &summary.target_max}};
  for (int s = 0; s < 2; ++s) {
    *percentiles[s][0] = lengths[s].percentile(0.5);
    *percentiles[s][1] = lengths[s].percentile(0.9);
    *percentiles[s][2] = lengths[s].percentile(0.99);
    *percentiles[s][3] = lengths[s].percentile(1.0);
  }
  manifest.summary_json = summary.to_json();
  write_file_atomically(options.output + "/" + kManifestFile, manifest.to_json());
  return summary;
}

}  // namespace tandem::data
