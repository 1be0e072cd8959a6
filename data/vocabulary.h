// Token <-> id mapping: <pad>=0, <unk>=1, <bos>=2, <eos>=3, then tokens by frequency. Stored as
// plain text, one "token<TAB>count" per line, line i = id i (the file format is persisted: see
// docs/corpus.md). The checksum identifies the mapping (tokens and order, not the counts) and is
// recorded in every shard and checkpoint.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tandem::data {

class Vocabulary {
 public:
  // Reserved tokens first; then tokens with count >= min_count, most frequent first (ties by
  // byte order), up to max_size entries in all (0: no limit).
  static Vocabulary build(const std::unordered_map<std::string, int64_t>& counts, int64_t max_size,
                          int64_t min_count);
  // Reserved tokens, then `tokens` in the given order (e.g. a SentencePiece model's pieces).
  // Empty, duplicate and reserved spellings are skipped.
  static Vocabulary from_tokens(const std::vector<std::string>& tokens,
                                const std::vector<int64_t>& counts);
  // Reads a vocabulary file. IoError if unreadable; FormatError "path:line: problem" if malformed.
  static Vocabulary load(const std::string& path);
  // Writes atomically (temp + fsync + rename).
  void save(const std::string& path) const;

  int32_t size() const { return static_cast<int32_t>(tokens_.size()); }
  // The id of a token; <unk> if unknown. A text token spelled like a reserved token (e.g. "<eos>")
  // also maps to <unk>: ids 0, 2 and 3 only ever come from the batcher.
  int32_t id(std::string_view token) const;
  const std::string& token(int32_t id) const { return tokens_.at(static_cast<size_t>(id)); }
  int64_t count(int32_t id) const { return counts_.at(static_cast<size_t>(id)); }
  // 16 hex digits: FNV-1a 64 over the escaped tokens in id order, each followed by '\n'.
  const std::string& checksum() const { return checksum_; }

 private:
  void add(const std::string& token, int64_t count);
  void finish();

  std::vector<std::string> tokens_;
  std::vector<int64_t> counts_;
  std::unordered_map<std::string, int32_t> ids_;
  std::string checksum_;
};

// Token escaping in vocabulary files: backslash, TAB, LF, CR and space become \\ \t \n \r \s.
std::string escape_token(std::string_view token);
std::string unescape_token(std::string_view text, bool* ok);

}  // namespace tandem::data
