#include "data/text_pairs.h"

#include <cerrno>
#include <cstring>

#include "data/utf8.h"
#include "ops/errors.h"

namespace tandem::data {
namespace {

bool is_trim_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string trimmed(const std::string& text, size_t begin, size_t end) {
  while (begin < end && is_trim_space(text[begin])) ++begin;
  while (end > begin && is_trim_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

}  // namespace

LineReader::LineReader(const std::string& path)
    : path_(path), file_(std::fopen(path.c_str(), "rb"), &std::fclose) {
  if (!file_) throw IoError(path + ": cannot open (" + std::strerror(errno) + ")");
}

bool LineReader::next(std::string& line, bool& too_long, size_t max_bytes) {
  line.clear();
  too_long = false;
  int c = 0;
  bool any = false;
  while ((c = std::getc(file_.get())) != EOF) {
    any = true;
    if (c == '\n') break;
    if (line.size() < max_bytes)
      line.push_back(static_cast<char>(c));
    else
      too_long = true;
  }
  if (std::ferror(file_.get()))
    throw IoError(path_ + ": read error (" + std::strerror(errno) + ")");
  if (!any) return false;
  ++line_number_;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line_number_ == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
  return true;
}

TextPairReader::TextPairReader(const std::string& tsv_path, const TextReadOptions& options)
    : options_(options), first_(std::make_unique<LineReader>(tsv_path)) {}

TextPairReader::TextPairReader(const std::string& source_path, const std::string& target_path,
                               const TextReadOptions& options)
    : options_(options),
      first_(std::make_unique<LineReader>(source_path)),
      second_(std::make_unique<LineReader>(target_path)) {}

bool TextPairReader::check_line(const LineReader& reader, const std::string& line, bool too_long) {
  auto reject = [&](int64_t& counter, const std::string& problem) {
    if (!options_.skip_bad_lines)
      throw FormatError(reader.path() + ":" + std::to_string(reader.line_number()) + ": " +
                        problem + " (use --skip-bad-lines to skip such lines)");
    ++counter;
    return false;
  };
  if (too_long)
    return reject(counts_.too_long,
                  "line longer than " + std::to_string(options_.max_line_bytes) + " bytes");
  size_t offset = 0;
  if (!is_valid_utf8(line, &offset))
    return reject(counts_.bad_utf8, "invalid UTF-8 at byte " + std::to_string(offset + 1));
  return true;
}

bool TextPairReader::next(TextPair& pair) {
  return second_ ? next_aligned(pair) : next_tsv(pair);
}

bool TextPairReader::next_tsv(TextPair& pair) {
  bool too_long = false;
  while (first_->next(buffer_, too_long, options_.max_line_bytes)) {
    ++counts_.lines;
    if (!check_line(*first_, buffer_, too_long)) continue;
    const std::string whole = trimmed(buffer_, 0, buffer_.size());
    if (whole.empty()) {
      ++counts_.blank;
      continue;
    }
    const size_t tab = buffer_.find('\t');
    const size_t tabs =
        tab == std::string::npos ? 0 : 1 + (buffer_.find('\t', tab + 1) != std::string::npos);
    if (tabs != 1) {
      if (!options_.skip_bad_lines)
        throw FormatError(first_->path() + ":" + std::to_string(first_->line_number()) +
                          ": expected exactly one TAB, found " +
                          (tabs == 0 ? std::string("none") : std::string("more than one")) +
                          " (use --skip-bad-lines to skip such lines)");
      ++counts_.bad_tabs;
      continue;
    }
    pair.source = trimmed(buffer_, 0, tab);
    pair.target = trimmed(buffer_, tab + 1, buffer_.size());
    pair.line = first_->line_number();
    return true;
  }
  return false;
}

bool TextPairReader::next_aligned(TextPair& pair) {
  bool too_long = false, second_too_long = false;
  while (true) {
    const bool has_first = first_->next(buffer_, too_long, options_.max_line_bytes);
    const bool has_second = second_->next(second_buffer_, second_too_long, options_.max_line_bytes);
    if (has_first != has_second) {
      const LineReader& shorter = has_first ? *second_ : *first_;
      const LineReader& longer = has_first ? *first_ : *second_;
      throw FormatError(shorter.path() + ": has " + std::to_string(shorter.line_number()) +
                        " lines but " + longer.path() +
                        " has more; aligned files need the same number of lines");
    }
    if (!has_first) return false;
    ++counts_.lines;
    if (!check_line(*first_, buffer_, too_long) ||
        !check_line(*second_, second_buffer_, second_too_long))
      continue;
    pair.source = trimmed(buffer_, 0, buffer_.size());
    pair.target = trimmed(second_buffer_, 0, second_buffer_.size());
    pair.line = first_->line_number();
    if (pair.source.empty() && pair.target.empty()) {
      ++counts_.blank;
      continue;
    }
    return true;
  }
}

}  // namespace tandem::data
