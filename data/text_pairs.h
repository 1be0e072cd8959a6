// Streams (source, target) text pairs from a TSV file ("source<TAB>target" per line) or from two
// line-aligned files, with the input checks tandem-prep documents: UTF-8 BOM and CRLF endings are
// accepted, sides are trimmed of ASCII whitespace, blank lines are skipped (counted), and a line
// without exactly one TAB, with invalid UTF-8 or longer than max_line_bytes is an error naming
// file and line, or skipped and counted with skip_bad_lines.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace tandem::data {

struct TextReadOptions {
  bool skip_bad_lines = false;
  size_t max_line_bytes = 1 << 20;
};

struct TextReadCounts {
  int64_t lines = 0;     // physical lines read (of the source file, for aligned input)
  int64_t blank = 0;     // skipped: empty after trimming
  int64_t bad_tabs = 0;  // skipped: not exactly one TAB (TSV)
  int64_t bad_utf8 = 0;  // skipped: invalid UTF-8
  int64_t too_long = 0;  // skipped: longer than max_line_bytes
};

struct TextPair {
  std::string source, target;  // trimmed; either may be empty (the caller filters those)
  int64_t line = 0;            // 1-based line number
};

// Reads one file line by line with a length limit (the rest of an over-long line is skipped
// without being stored). Strips "\n", "\r\n" and a leading UTF-8 BOM.
class LineReader {
 public:
  explicit LineReader(const std::string& path);  // IoError naming the path
  // False at end of file. too_long: the line exceeded max_bytes (line holds its first bytes).
  bool next(std::string& line, bool& too_long, size_t max_bytes);
  int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<FILE, int (*)(FILE*)> file_;
  int64_t line_number_ = 0;
};

class TextPairReader {
 public:
  // TSV input.
  TextPairReader(const std::string& tsv_path, const TextReadOptions& options);
  // Two aligned files (line i of one pairs with line i of the other).
  TextPairReader(const std::string& source_path, const std::string& target_path,
                 const TextReadOptions& options);

  // Next well-formed pair; false at the end. Throws FormatError "file:line: problem" for a bad
  // line unless skip_bad_lines, and for aligned files of different lengths.
  bool next(TextPair& pair);
  const TextReadCounts& counts() const { return counts_; }

 private:
  bool next_tsv(TextPair& pair);
  bool next_aligned(TextPair& pair);
  // Returns true if the line is usable; otherwise counts it or throws.
  bool check_line(const LineReader& reader, const std::string& line, bool too_long);

  TextReadOptions options_;
  std::unique_ptr<LineReader> first_, second_;
  TextReadCounts counts_;
  std::string buffer_, second_buffer_;
};

}  // namespace tandem::data
