#include "data/utf8.h"

#include <cstdint>

namespace tandem::data {
namespace {

// Length of the sequence starting at text[i], or 0 if it is malformed.
size_t sequence_length(std::string_view text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  if (lead < 0x80) return 1;
  size_t length = 0;
  uint32_t code_point = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code_point = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code_point = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  static const uint32_t kMinimum[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (code_point < kMinimum[length] || code_point > 0x10FFFF ||
      (code_point >= 0xD800 && code_point <= 0xDFFF))
    return 0;
  return length;
}

}  // namespace

bool is_valid_utf8(std::string_view text, size_t* error_offset) {
  for (size_t i = 0; i < text.size();) {
    const size_t length = sequence_length(text, i);
    if (length == 0) {
      if (error_offset) *error_offset = i;
      return false;
    }
    i += length;
  }
  return true;
}

std::vector<std::string> split_code_points(std::string_view text) {
  std::vector<std::string> points;
  for (size_t i = 0; i < text.size();) {
    const size_t length = sequence_length(text, i);
    points.emplace_back(text.substr(i, length == 0 ? 1 : length));
    i += length == 0 ? 1 : length;
  }
  return points;
}

}  // namespace tandem::data
