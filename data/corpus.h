// A tandem corpus: a directory with manifest.json, the two vocabularies (and SentencePiece
// models) and HDF5 shards train.NNNNN.h5 / valid.NNNNN.h5. The schema is documented in
// docs/corpus.md; every dataset and attribute name below is persisted: changing one bumps
// kCorpusFormatVersion, which readers check.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "data/h5.h"
#include "data/tokenizer.h"
#include "data/vocabulary.h"

namespace tandem::data {

constexpr int64_t kCorpusFormatVersion = 1;
constexpr const char* kManifestFile = "manifest.json";

struct ShardEntry {
  std::string file;  // relative to the corpus directory
  int64_t examples = 0;
  int64_t source_tokens = 0, target_tokens = 0;
};

struct SideInfo {
  TokenizerKind tokenizer = TokenizerKind::kChar;
  std::string vocabulary_file;      // relative
  std::string sentencepiece_model;  // relative; empty unless tokenizer == sentencepiece
  int32_t vocab_size = 0;
  std::string vocab_checksum;
};

struct Manifest {
  int64_t format_version = kCorpusFormatVersion;
  SideInfo source, target;
  std::map<std::string, std::vector<ShardEntry>> splits;  // "train", "valid"
  std::string summary_json;  // prep statistics, kept verbatim ("{}" if none)

  int64_t examples(const std::string& split) const;
  std::string to_json() const;
  // FormatError naming `path` for malformed JSON, a wrong format version or missing fields.
  static Manifest parse(const std::string& text, const std::string& path);
};

struct Example {
  std::vector<int32_t> source, target;  // token ids, no <bos>/<eos>
  int64_t position = -1;                // in the reader's epoch order (set by the batch loader)
};

// Opens a corpus directory (reads and checks the manifest; shards are opened on demand).
class Corpus {
 public:
  // IoError if the directory or manifest is missing; FormatError for a bad manifest.
  static Corpus open(const std::string& directory);

  const Manifest& manifest() const { return manifest_; }
  const std::string& directory() const { return directory_; }
  std::string path_of(const std::string& file) const { return directory_ + "/" + file; }

  // Throws ConfigError naming the side when a checksum differs from the corpus's.
  void check_vocabularies(const std::string& source_checksum,
                          const std::string& target_checksum) const;
  // Loads a side's vocabulary and verifies it against the manifest's checksum (FormatError).
  Vocabulary source_vocabulary() const;
  Vocabulary target_vocabulary() const;

 private:
  std::string directory_;
  Manifest manifest_;
};

// Reads examples of one shard. The constructor validates the structure in O(1): attributes
// (format version, counts, split, vocabulary checksums), dataset shapes, first and last offset;
// every read validates the offsets, lengths and ids it touches. Errors are FormatError naming
// the file and the problem.
class ShardReader {
 public:
  ShardReader(const Corpus& corpus, const std::string& split, const ShardEntry& entry);
  ~ShardReader();
  ShardReader(const ShardReader&) = delete;
  ShardReader& operator=(const ShardReader&) = delete;

  int64_t size() const { return examples_; }
  const std::string& path() const { return path_; }

  // Appends examples [first, first + count) to out, checking every id against the vocabulary.
  void read(int64_t first, int64_t count, std::vector<Example>& out) const;

 private:
  struct Side {
    h5::Dataset1D tokens, offsets, lengths;
    int32_t vocab_size = 0;
  };
  Side open_side(const std::string& prefix, int32_t vocab_size) const;
  void read_side(const Side& side, int64_t first, int64_t count, const char* name,
                 std::vector<Example>& out, size_t out_begin, bool source) const;

  std::unique_lock<std::mutex> lock_;  // held while the constructor reads (h5::library_mutex)
  std::string path_;
  h5::Handle file_;
  int64_t examples_ = 0;
  Side source_, target_;
};

// Writes the shards of one split: buffers examples (memory bounded by the shard size), and
// write() puts them in "<file>.tmp", renames it into place and empties the buffers (keeping
// their capacity, so memory stays flat over any number of shards).
class ShardWriter {
 public:
  ShardWriter(const std::string& directory, const std::string& split, const Manifest& manifest,
              int deflate_level);
  void add(const std::vector<int32_t>& source, const std::vector<int32_t>& target);
  int64_t size() const { return static_cast<int64_t>(source_lengths_.size()); }
  ShardEntry write(const std::string& file);  // IoError / FormatError naming the file on failure

 private:
  std::string directory_, split_;
  const Manifest& manifest_;
  int deflate_level_;
  std::vector<int32_t> source_tokens_, target_tokens_, source_lengths_, target_lengths_;
  std::vector<int64_t> source_offsets_{0}, target_offsets_{0};
};

}  // namespace tandem::data
