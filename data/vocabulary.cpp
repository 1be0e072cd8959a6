#include "data/vocabulary.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "data/atomic_file.h"
#include "data/batch.h"
#include "ops/errors.h"

namespace tandem::data {
namespace {

// Persisted spellings of the reserved ids: never change.
const char* const kReservedTokens[kFirstRegularId] = {"<pad>", "<unk>", "<bos>", "<eos>"};

bool is_reserved(std::string_view token) {
  for (const char* reserved : kReservedTokens)
    if (token == reserved) return true;
  return false;
}

}  // namespace

std::string escape_token(std::string_view token) {
  std::string out;
  for (char c : token) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case ' ':
        out += "\\s";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string unescape_token(std::string_view text, bool* ok) {
  std::string out;
  *ok = true;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (++i == text.size()) {
      *ok = false;
      return out;
    }
    switch (text[i]) {
      case '\\':
        out += '\\';
        break;
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 's':
        out += ' ';
        break;
      default:
        *ok = false;
        return out;
    }
  }
  return out;
}

void Vocabulary::add(const std::string& token, int64_t count) {
  ids_.emplace(token, static_cast<int32_t>(tokens_.size()));
  tokens_.push_back(token);
  counts_.push_back(count);
}

void Vocabulary::finish() {
  uint64_t hash = 0xCBF29CE484222325ull;
  for (const std::string& token : tokens_) {
    for (unsigned char c : escape_token(token) + "\n") hash = (hash ^ c) * 0x100000001B3ull;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  checksum_ = text;
}

Vocabulary Vocabulary::build(const std::unordered_map<std::string, int64_t>& counts,
                             int64_t max_size, int64_t min_count) {
  std::vector<std::pair<std::string, int64_t>> entries;
  for (const auto& [token, count] : counts)
    if (count >= min_count && !token.empty() && !is_reserved(token))
      entries.emplace_back(token, count);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  Vocabulary vocabulary;
  for (const char* reserved : kReservedTokens) vocabulary.add(reserved, 0);
  for (const auto& [token, count] : entries) {
    if (max_size > 0 && vocabulary.size() >= max_size) break;
    vocabulary.add(token, count);
  }
  vocabulary.finish();
  return vocabulary;
}

Vocabulary Vocabulary::from_tokens(const std::vector<std::string>& tokens,
                                   const std::vector<int64_t>& counts) {
  Vocabulary vocabulary;
  for (const char* reserved : kReservedTokens) vocabulary.add(reserved, 0);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (!tokens[i].empty() && !is_reserved(tokens[i]) && !vocabulary.ids_.count(tokens[i]))
      vocabulary.add(tokens[i], i < counts.size() ? counts[i] : 0);
  vocabulary.finish();
  return vocabulary;
}

Vocabulary Vocabulary::load(const std::string& path) {
  const std::string content = read_file(path);
  Vocabulary vocabulary;
  std::istringstream lines(content);
  std::string line;
  int64_t number = 0;
  auto fail = [&](const std::string& what) {
    throw FormatError(path + ":" + std::to_string(number) + ": " + what);
  };
  while (std::getline(lines, line)) {
    ++number;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || line.find('\t', tab + 1) != std::string::npos)
      fail("expected 'token<TAB>count'");
    bool ok = false;
    const std::string token = unescape_token(std::string_view(line).substr(0, tab), &ok);
    if (!ok || token.empty()) fail("bad token escape or empty token");
    char* end = nullptr;
    const long long count = std::strtoll(line.c_str() + tab + 1, &end, 10);
    if (end == line.c_str() + tab + 1 || *end != '\0' || count < 0)
      fail("count is not a non-negative integer");
    const auto id = vocabulary.size();
    if (id < kFirstRegularId && token != kReservedTokens[id])
      fail(std::string("expected reserved token ") + kReservedTokens[id] + " here");
    if (id >= kFirstRegularId && is_reserved(token)) fail("reserved token " + token + " repeated");
    if (vocabulary.ids_.count(token)) fail("duplicate token " + escape_token(token));
    vocabulary.add(token, count);
  }
  if (vocabulary.size() < kFirstRegularId)
    throw FormatError(path + ": vocabulary is truncated (fewer than 4 entries)");
  vocabulary.finish();
  return vocabulary;
}

void Vocabulary::save(const std::string& path) const {
  std::string content;
  for (size_t i = 0; i < tokens_.size(); ++i)
    content += escape_token(tokens_[i]) + "\t" + std::to_string(counts_[i]) + "\n";
  write_file_atomically(path, content);
}

int32_t Vocabulary::id(std::string_view token) const {
  const auto found = ids_.find(std::string(token));
  if (found == ids_.end() || found->second < kFirstRegularId) return kUnkId;
  return found->second;
}

}  // namespace tandem::data
