#include "trainer/dist/agreement.h"

#include <map>
#include <sstream>

namespace tandem::trainer {
namespace {

// "key = value" lines -> map (lines without " = " are keyed by themselves).
std::map<std::string, std::string> key_values(const std::string& text) {
  std::map<std::string, std::string> values;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const size_t at = line.find(" = ");
    if (at == std::string::npos)
      values[line] = "";
    else
      values[line.substr(0, at)] = line.substr(at + 3);
  }
  return values;
}

std::string ranks_text(const std::vector<int>& ranks) {
  std::string text = ranks.size() == 1 ? "rank " : "ranks ";
  for (size_t i = 0; i < ranks.size(); ++i) text += (i ? "," : "") + std::to_string(ranks[i]);
  return text;
}

}  // namespace

void agree_on_failure(const MpiWorld& world, const std::string& failure) {
  const std::vector<std::string> failures = world.all_gather(failure);
  for (size_t r = 0; r < failures.size(); ++r) {
    if (failures[r].empty()) continue;
    const std::string message =
        (world.size() > 1 ? "rank " + std::to_string(r) + ": " : std::string()) +
        failures[r].substr(1);
    if (failures[r][0] == 'C') throw ConfigError(message);
    throw DistributedError(message);
  }
}

void require_agreement(const MpiWorld& world, const std::string& what, const std::string& text) {
  const std::vector<std::string> texts = world.all_gather(text);
  bool same = true;
  for (const std::string& other : texts) same = same && other == texts[0];
  if (same) return;
  // Every rank builds the same message from the same gathered texts.
  std::vector<std::map<std::string, std::string>> parsed;
  std::map<std::string, bool> keys;
  for (const std::string& other : texts) {
    parsed.push_back(key_values(other));
    for (const auto& entry : parsed.back()) keys[entry.first] = true;
  }
  for (const auto& [key, unused] : keys) {
    std::map<std::string, std::vector<int>> by_value;
    for (size_t r = 0; r < parsed.size(); ++r) {
      const auto found = parsed[r].find(key);
      by_value[found == parsed[r].end() ? "(missing)" : found->second].push_back(
          static_cast<int>(r));
    }
    if (by_value.size() < 2) continue;
    std::string message = "ranks disagree on the " + what + ": " + key;
    bool first = true;
    for (const auto& [value, ranks] : by_value) {
      message += (first ? " is '" : " but '") + value + "' on " + ranks_text(ranks);
      first = false;
    }
    throw DistributedError(message);
  }
  throw DistributedError("ranks disagree on the " + what);
}

}  // namespace tandem::trainer
