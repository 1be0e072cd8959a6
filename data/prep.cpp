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
#include "data/corpus_directory.h"
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

namespace {

void check_options(const PrepOptions& options, const Input& train, const Input& valid) {
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
    require_config(side->vocab_size == 0 || side->vocab_size > kFirstRegularId, "vocab-size",
                   "must be 0 (no cap) or at least " + std::to_string(kFirstRegularId + 1) +
                       " (the " + std::to_string(kFirstRegularId) +
                       " reserved ids and one real token), got " +
                       std::to_string(side->vocab_size));
    require_config(side->tokenizer != TokenizerKind::kSentencePiece || side->vocab_size == 0 ||
                       side->vocab_size >= kFirstRegularId + 3,
                   "vocab-size",
                   "a SentencePiece side needs at least " + std::to_string(kFirstRegularId + 3) +
                       " (4 pieces and tandem's reserved ids), got " +
                       std::to_string(side->vocab_size));
    require_config(
        side->sentencepiece_model.empty() || side->tokenizer == TokenizerKind::kSentencePiece,
        "sp-model", "a SentencePiece model needs --tokenizer sentencepiece for that side");
  }
}

// One run of tandem-prep, in its phases: count (pass 1), vocabularies, shards (pass 2), summary.
// Index s is the side: 0 source, 1 target.
class PrepRun {
 public:
  explicit PrepRun(const PrepOptions& options) : options_(options) {
    for (int s = 0; s < 2; ++s)
      if (sides_[s]->tokenizer != TokenizerKind::kSentencePiece ||
          !sides_[s]->sentencepiece_model.empty())
        tokenizers_[s] = make_tokenizer(sides_[s]->tokenizer, sides_[s]->sentencepiece_model);
  }

  // Pass 1: counts tokens (char/word) or collects a sample (SentencePiece) of the training pairs.
  void count(const Input& train, const std::string& train_name) {
    auto reader = train.open(options_.read);
    Progress progress(options_, "tandem-prep: pass 1");
    TextPair pair;
    int64_t lines = 0, training_pairs = 0;
    while (reader->next(pair)) {
      progress.line(++lines);
      if (pair.source.empty() || pair.target.empty() || goes_to_valid(options_, pair.source))
        continue;
      ++training_pairs;
      const std::string* texts[2] = {&pair.source, &pair.target};
      for (int s = 0; s < 2; ++s) {
        if (tokenizers_[s] && tokenizers_[s]->kind() != TokenizerKind::kSentencePiece) {
          for (std::string& token : tokenizers_[s]->split(*texts[s])) ++counts_[s][token];
        } else if (!tokenizers_[s] &&
                   static_cast<int64_t>(samples_[s].size()) < options_.sentencepiece_sample) {
          samples_[s].push_back(*texts[s]);
        }
      }
    }
    if (training_pairs == 0)
      throw FormatError(train_name + ": no usable training pairs (" +
                        std::to_string(reader->counts().lines) +
                        " lines read: every one was empty, malformed, too long or went to the "
                        "validation split)");
    training_pairs_ = training_pairs;
  }

  // Vocabularies (and SentencePiece models), written before any shard: shards record checksums.
  void build_vocabularies() {
    SideInfo* infos[2] = {&manifest_.source, &manifest_.target};
    const char* prefixes[2] = {"src", "tgt"};
    for (int s = 0; s < 2; ++s) {
      SideInfo& info = *infos[s];
      info.tokenizer = sides_[s]->tokenizer;
      if (info.tokenizer == TokenizerKind::kSentencePiece) {
        info.sentencepiece_model = std::string(prefixes[s]) + ".spm.model";
        const std::string model_path = options_.output + "/" + info.sentencepiece_model;
        if (!sides_[s]->sentencepiece_model.empty()) {
          write_file_atomically(model_path, read_file(sides_[s]->sentencepiece_model));
        } else {
          // The cap counts tandem's reserved ids; SentencePiece's model has <unk> of them.
          const int64_t cap = sides_[s]->vocab_size > 0 ? sides_[s]->vocab_size : 8000;
          train_sentencepiece(samples_[s], static_cast<int>(cap - (kFirstRegularId - 1)),
                              options_.sentencepiece_type, options_.sentencepiece_normalization,
                              model_path);
        }
        samples_[s].clear();
        samples_[s].shrink_to_fit();
        tokenizers_[s] = make_tokenizer(info.tokenizer, model_path);
        vocabularies_[s] = Vocabulary::from_tokens(tokenizers_[s]->inventory(), {});
      } else {
        vocabularies_[s] =
            Vocabulary::build(counts_[s], sides_[s]->vocab_size, sides_[s]->min_count);
      }
      counts_[s].clear();
      if (vocabularies_[s].size() <= kFirstRegularId)
        throw ConfigError(std::string(s == 0 ? "source" : "target") +
                          " vocabulary: no token is left besides the reserved ones (every token "
                          "is seen fewer than --min-freq " +
                          std::to_string(sides_[s]->min_count) + " times?)");
      info.vocabulary_file = std::string(prefixes[s]) + ".vocab";
      info.vocab_size = vocabularies_[s].size();
      info.vocab_checksum = vocabularies_[s].checksum();
      vocabularies_[s].save(options_.output + "/" + info.vocabulary_file);
    }
  }

  // Pass 2: tokenises, filters by length and writes the shards of both splits.
  void write_shards(const Input& train, const Input& valid, const std::string& train_name) {
    const int64_t shard_size = options_.shards > 0
                                   ? (training_pairs_ + options_.shards - 1) / options_.shards
                                   : options_.shard_size;
    SplitWriter train_writer(options_, manifest_, "train", shard_size);
    SplitWriter valid_writer(options_, manifest_, "valid", shard_size);
    shard(train, false, train_writer, valid_writer);
    if (summary_.kept_train == 0 && summary_.too_long + summary_.empty_side > 0)
      throw ConfigError("max-len: every training pair was dropped (" +
                        std::to_string(summary_.too_long) + " longer than --max-len " +
                        std::to_string(options_.max_length) + " tokens, " +
                        std::to_string(summary_.empty_side) +
                        " with a side empty after "
                        "tokenising); raise --max-len or check the tokenizer");
    if (summary_.kept_train == 0)  // pass 1 found pairs: the file changed while prep read it
      throw FormatError(train_name +
                        ": the second reading found no usable training pairs (did "
                        "the file change while tandem-prep ran?)");
    if (valid.present()) shard(valid, true, train_writer, valid_writer);
    manifest_.splits["train"] = train_writer.finish();
    manifest_.splits["valid"] = valid_writer.finish();
  }

  const Manifest& manifest() const { return manifest_; }

  // The summary, stored in the manifest, which is written last.
  PrepSummary finish() {
    summary_.train_shards = static_cast<int64_t>(manifest_.splits["train"].size());
    summary_.valid_shards = static_cast<int64_t>(manifest_.splits["valid"].size());
    summary_.source_vocab = vocabularies_[0].size();
    summary_.target_vocab = vocabularies_[1].size();
    summary_.source_oov_train = oov_[0][0].rate();
    summary_.source_oov_valid = oov_[0][1].rate();
    summary_.target_oov_train = oov_[1][0].rate();
    summary_.target_oov_valid = oov_[1][1].rate();
    int64_t* percentiles[2][4] = {
        {&summary_.source_p50, &summary_.source_p90, &summary_.source_p99, &summary_.source_max},
        {&summary_.target_p50, &summary_.target_p90, &summary_.target_p99, &summary_.target_max}};
    const double points[4] = {0.5, 0.9, 0.99, 1.0};
    for (int s = 0; s < 2; ++s)
      for (int k = 0; k < 4; ++k) *percentiles[s][k] = lengths_[s].percentile(points[k]);
    manifest_.summary_json = summary_.to_json();
    write_file_atomically(options_.output + "/" + kManifestFile, manifest_.to_json());
    return summary_;
  }

 private:
  void shard(const Input& input, bool validation_input, SplitWriter& train_writer,
             SplitWriter& valid_writer) {
    auto reader = input.open(options_.read);
    Progress progress(options_,
                      validation_input ? "tandem-prep: validation" : "tandem-prep: pass 2");
    TextPair pair;
    int64_t lines = 0;
    while (reader->next(pair)) {
      progress.line(++lines);
      if (pair.source.empty() || pair.target.empty()) {
        ++summary_.empty_side;
        continue;
      }
      const bool to_valid = validation_input || goes_to_valid(options_, pair.source);
      if (!tokenize(pair)) continue;
      for (int s = 0; s < 2; ++s) {
        OovCount& count = oov_[s][to_valid ? 1 : 0];
        count.tokens += static_cast<int64_t>(ids_[s].size());
        count.unknown += std::count(ids_[s].begin(), ids_[s].end(), kUnkId);
        if (!to_valid) lengths_[s].add(static_cast<int64_t>(ids_[s].size()));
      }
      (to_valid ? valid_writer : train_writer).add(ids_[0], ids_[1]);
      ++(to_valid ? summary_.kept_valid : summary_.kept_train);
    }
    add_read_counts(summary_, reader->counts());
  }

  // Both sides' ids into ids_; false (counted) if a side is empty or too long.
  bool tokenize(const TextPair& pair) {
    const std::string* texts[2] = {&pair.source, &pair.target};
    bool too_long = false;
    for (int s = 0; s < 2; ++s) {
      ids_[s].clear();
      for (const std::string& token : tokenizers_[s]->split(*texts[s]))
        ids_[s].push_back(vocabularies_[s].id(token));
      too_long = too_long || (options_.max_length > 0 &&
                              static_cast<int64_t>(ids_[s].size()) > options_.max_length);
    }
    if (ids_[0].empty() || ids_[1].empty()) {  // e.g. SentencePiece turned the text into nothing
      ++summary_.empty_side;
      return false;
    }
    if (too_long) {
      ++summary_.too_long;
      return false;
    }
    return true;
  }

  const PrepOptions& options_;
  const PrepSideOptions* sides_[2] = {&options_.source, &options_.target};
  std::unique_ptr<Tokenizer> tokenizers_[2];
  std::unordered_map<std::string, int64_t> counts_[2];
  std::vector<std::string> samples_[2];
  int64_t training_pairs_ = 0;
  Vocabulary vocabularies_[2];
  Manifest manifest_;
  PrepSummary summary_;
  LengthHistogram lengths_[2];
  OovCount oov_[2][2];  // [side][0 train, 1 valid]
  std::vector<int32_t> ids_[2];
};

}  // namespace

PrepSummary run_prep(const PrepOptions& options) {
  const Input train =
      checked_input(options.train_tsv, options.train_source, options.train_target, "train");
  const Input valid =
      checked_input(options.valid_tsv, options.valid_source, options.valid_target, "valid");
  check_options(options, train, valid);
  // Built aside and moved into place when complete: a failure leaves the output as it was.
  CorpusBuildDirectory build(options.output, options.force);
  PrepOptions aside = options;
  aside.output = build.path();
  const std::string train_name = train.tsv.empty() ? train.source : train.tsv;
  PrepRun run(aside);
  run.count(train, train_name);
  run.build_vocabularies();
  run.write_shards(train, valid, train_name);
  const PrepSummary summary = run.finish();
  build.commit(run.manifest());
  return summary;
}

}  // namespace tandem::data
