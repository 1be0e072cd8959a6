// UTF-8 checks and code-point splitting for the tokenisers and the text reader.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tandem::data {

// True if `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
// If not and `error_offset` is given, it receives the byte offset of the first bad sequence.
bool is_valid_utf8(std::string_view text, size_t* error_offset = nullptr);

// The code points of valid UTF-8 text, each as its UTF-8 bytes. Requires: is_valid_utf8(text).
std::vector<std::string> split_code_points(std::string_view text);

}  // namespace tandem::data
