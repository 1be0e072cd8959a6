#include "trainer/decode/scoring.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "data/utf8.h"
#include "ops/errors.h"

namespace tandem::trainer {
namespace {

constexpr int kBleuOrder = 4;
constexpr int kChrfOrder = 6;
constexpr double kChrfBeta = 2.0;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// 13a's first rule: these ASCII symbols become tokens of their own (the class
// [\{-\~\[-\` -\&\(-\+\:-\@\/]: everything printable but letters, digits, ' - . ,).
bool is_13a_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// Applies a two-character rewrite rule left to right without overlaps, as Python's re.sub does
// with a two-character pattern: after a match the scan continues behind both characters.
template <typename Match, typename Rewrite>
std::string rewrite_pairs(const std::string& text, Match match, Rewrite rewrite) {
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  size_t i = 0;
  while (i < text.size()) {
    if (i + 1 < text.size() && match(text[i], text[i + 1])) {
      rewrite(out, text[i], text[i + 1]);
      i += 2;
    } else {
      out += text[i++];
    }
  }
  return out;
}

std::vector<std::string> split_whitespace(std::string_view text) {
  std::vector<std::string> tokens;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) tokens.emplace_back(text.substr(start, i - start));
  }
  return tokens;
}

std::string join_tokens(const std::vector<std::string>& tokens) {
  std::string joined;
  for (const auto& token : tokens) {
    if (!joined.empty()) joined += ' ';
    joined += token;
  }
  return joined;
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

using NgramCounts = std::map<std::vector<std::string>, int64_t>;

NgramCounts count_ngrams(const std::vector<std::string>& units, int n) {
  NgramCounts counts;
  for (size_t i = 0; i + n <= units.size(); ++i)
    ++counts[std::vector<std::string>(units.begin() + i, units.begin() + i + n)];
  return counts;
}

int64_t total_count(const NgramCounts& counts) {
  int64_t total = 0;
  for (const auto& [ngram, count] : counts) total += count;
  return total;
}

int64_t clipped_matches(const NgramCounts& hypothesis, const NgramCounts& reference) {
  int64_t matches = 0;
  for (const auto& [ngram, count] : hypothesis) {
    auto found = reference.find(ngram);
    if (found != reference.end()) matches += std::min(count, found->second);
  }
  return matches;
}

void require_references(const ScoredSentence& sentence, size_t index) {
  if (sentence.references.empty())
    throw ConfigError("scoring: sentence " + std::to_string(index + 1) + " has no reference");
}

// chrF statistics: per order, [hypothesis n-grams, reference n-grams, matches].
using ChrfStatistics = std::array<int64_t, 3 * kChrfOrder>;

std::vector<std::string> chrf_characters(const std::string& text, const char* role) {
  std::string joined;
  for (const auto& token : split_whitespace(text)) joined += token;
  if (!data::is_valid_utf8(joined))
    throw FormatError(std::string("chrF: ") + role + " is not valid UTF-8");
  return data::split_code_points(joined);
}

ChrfStatistics chrf_statistics(const std::vector<std::string>& hypothesis,
                               const std::vector<std::string>& reference) {
  ChrfStatistics stats{};
  for (int n = 1; n <= kChrfOrder; ++n) {
    NgramCounts hyp = count_ngrams(hypothesis, n), ref = count_ngrams(reference, n);
    stats[3 * (n - 1) + 0] = total_count(hyp);
    stats[3 * (n - 1) + 1] = total_count(ref);
    stats[3 * (n - 1) + 2] = clipped_matches(hyp, ref);
  }
  return stats;
}

// sacreBLEU 2.x's default: average precision and recall over the orders where both sides have
// n-grams, then the F-beta of the averages.
double chrf_from_statistics(const ChrfStatistics& stats) {
  double precision = 0.0, recall = 0.0;
  int effective_order = 0;
  for (int i = 0; i < kChrfOrder; ++i) {
    int64_t hyp = stats[3 * i], ref = stats[3 * i + 1], match = stats[3 * i + 2];
    if (hyp > 0 && ref > 0) {
      precision += static_cast<double>(match) / hyp;
      recall += static_cast<double>(match) / ref;
      ++effective_order;
    }
  }
  if (effective_order == 0) return 0.0;
  precision /= effective_order;
  recall /= effective_order;
  if (precision + recall == 0.0) return 0.0;
  const double factor = kChrfBeta * kChrfBeta;
  return 100.0 * (1 + factor) * precision * recall / (factor * precision + recall);
}

// sacreBLEU's regular-expression part of 13a (shared with zh): symbols split off; period and
// comma split off unless between digits; a dash after a digit split off; whitespace collapsed.
std::string tokenize_regexp(const std::string& line) {
  std::string spaced;
  for (char c : line) {
    if (is_13a_symbol(c))
      spaced += ' ', spaced += c, spaced += ' ';
    else
      spaced += c;
  }
  auto is_period_or_comma = [](char c) { return c == '.' || c == ','; };
  spaced = rewrite_pairs(
      spaced, [&](char a, char b) { return !is_digit(a) && is_period_or_comma(b); },
      [](std::string& out, char a, char b) { out += a, out += ' ', out += b, out += ' '; });
  spaced = rewrite_pairs(
      spaced, [&](char a, char b) { return is_period_or_comma(a) && !is_digit(b); },
      [](std::string& out, char a, char b) { out += ' ', out += a, out += ' ', out += b; });
  spaced = rewrite_pairs(
      spaced, [](char a, char b) { return is_digit(a) && b == '-'; },
      [](std::string& out, char a, char b) { out += a, out += ' ', out += b, out += ' '; });
  return join_tokens(split_whitespace(spaced));
}

char32_t code_point_value(const std::string& utf8) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(utf8[i]); };
  if (utf8.size() == 1) return byte(0);
  if (utf8.size() == 2) return (byte(0) & 0x1Fu) << 6 | (byte(1) & 0x3Fu);
  if (utf8.size() == 3) return (byte(0) & 0x0Fu) << 12 | (byte(1) & 0x3Fu) << 6 | (byte(2) & 0x3Fu);
  return (byte(0) & 0x07u) << 18 | (byte(1) & 0x3Fu) << 12 | (byte(2) & 0x3Fu) << 6 |
         (byte(3) & 0x3Fu);
}

std::vector<std::string> code_points(std::string_view line) {
  if (!data::is_valid_utf8(line)) throw FormatError("BLEU: a line is not valid UTF-8");
  return data::split_code_points(line);
}

std::string tokenize_zh(std::string_view raw) {
  std::string spaced;
  for (const std::string& character : code_points(raw)) {
    if (is_chinese_for_bleu(code_point_value(character)))
      spaced += ' ' + character + ' ';
    else
      spaced += character;
  }
  return tokenize_regexp(spaced);
}

std::string tokenize_char(std::string_view raw) {
  std::vector<std::string> characters;
  for (std::string& character : code_points(raw))
    if (!(character.size() == 1 && is_space(character[0]))) characters.push_back(character);
  return join_tokens(characters);
}

}  // namespace

bool is_chinese_for_bleu(char32_t c) {
  // sacreBLEU's _UCODE_RANGES. Two of them are written '\u20000'-'\u2a6d6' and '\u2f800'-
  // '\u2fa1d' there, which Python reads as two-character strings ('\u2000' + '0', ...); compared
  // with one character they select U+2001-U+2A6D (general punctuation such as “ ” — …, arrows,
  // maths) and U+2F81-U+2FA1. sacreBLEU's scores depend on that, so it is kept.
  static constexpr std::array<std::pair<char32_t, char32_t>, 22> kRanges = {{
      {0x3400, 0x4DB5}, {0x4E00, 0x9FA5}, {0x9FA6, 0x9FBB}, {0xF900, 0xFA2D}, {0xFA30, 0xFA6A},
      {0xFA70, 0xFAD9}, {0x2001, 0x2A6D}, {0x2F81, 0x2FA1}, {0xFF00, 0xFFEF}, {0x2E80, 0x2EFF},
      {0x3000, 0x303F}, {0x31C0, 0x31EF}, {0x2F00, 0x2FDF}, {0x2FF0, 0x2FFF}, {0x3100, 0x312F},
      {0x31A0, 0x31BF}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE4F}, {0x2600, 0x26FF}, {0x2700, 0x27BF},
      {0x3200, 0x32FF}, {0x3300, 0x33FF},
  }};
  for (const auto& [low, high] : kRanges)
    if (c >= low && c <= high) return true;
  return false;
}

std::string tokenize_for_bleu(std::string_view line, BleuTokenizer tokenizer) {
  switch (tokenizer) {
    case BleuTokenizer::k13a:
      return tokenize_13a(line);
    case BleuTokenizer::kZh:
      return tokenize_zh(line);
    case BleuTokenizer::kChar:
      return tokenize_char(line);
    case BleuTokenizer::kNone:
      return join_tokens(split_whitespace(line));
  }
  return tokenize_13a(line);
}

BleuTokenizer bleu_tokenizer_for(const std::vector<ScoredSentence>& sentences) {
  int64_t chinese = 0, other = 0;
  for (const ScoredSentence& sentence : sentences)
    for (const std::string& reference : sentence.references) {
      if (!data::is_valid_utf8(reference)) continue;
      for (const std::string& character : data::split_code_points(reference)) {
        if (character.size() == 1 && is_space(character[0])) continue;
        ++(is_chinese_for_bleu(code_point_value(character)) ? chinese : other);
      }
    }
  return chinese > other ? BleuTokenizer::kZh : BleuTokenizer::k13a;
}

std::string bleu_signature(const std::vector<ScoredSentence>& sentences, BleuTokenizer tokenizer) {
  size_t references = 0;
  for (const ScoredSentence& sentence : sentences)
    references = std::max(references, sentence.references.size());
  return "nrefs:" + std::to_string(references) +
         "|case:mixed|eff:no|tok:" + kBleuTokenizerNames.name(tokenizer) +
         "|smooth:exp|version:tandem";
}

std::string tokenize_13a(std::string_view raw) {
  std::string line(raw);
  replace_all(line, "<skipped>", "");
  replace_all(line, "-\n", "");
  std::replace(line.begin(), line.end(), '\n', ' ');
  if (line.find('&') != std::string::npos) {
    replace_all(line, "&quot;", "\"");
    replace_all(line, "&amp;", "&");
    replace_all(line, "&lt;", "<");
    replace_all(line, "&gt;", ">");
  }
  return tokenize_regexp(" " + line + " ");
}

namespace {

// What corpus BLEU sums over sentences.
struct BleuStatistics {
  std::array<int64_t, kBleuOrder> correct{}, total{};
  int64_t hypothesis_length = 0, reference_length = 0;
  void add(const BleuStatistics& other) {
    for (int n = 0; n < kBleuOrder; ++n) correct[n] += other.correct[n], total[n] += other.total[n];
    hypothesis_length += other.hypothesis_length;
    reference_length += other.reference_length;
  }
};

BleuStatistics sentence_bleu_statistics(const ScoredSentence& sentence, BleuTokenizer tokenizer) {
  const auto hypothesis = split_whitespace(tokenize_for_bleu(sentence.hypothesis, tokenizer));
  std::vector<std::vector<std::string>> references;
  for (const auto& reference : sentence.references)
    references.push_back(split_whitespace(tokenize_for_bleu(reference, tokenizer)));
  BleuStatistics stats;
  const int64_t hyp_len = static_cast<int64_t>(hypothesis.size());
  // The closest reference length; on a tie the shorter one.
  int64_t closest = -1;
  for (const auto& reference : references) {
    const int64_t len = static_cast<int64_t>(reference.size());
    if (closest < 0 || std::llabs(len - hyp_len) < std::llabs(closest - hyp_len) ||
        (std::llabs(len - hyp_len) == std::llabs(closest - hyp_len) && len < closest))
      closest = len;
  }
  stats.hypothesis_length = hyp_len;
  stats.reference_length = closest;
  for (int n = 1; n <= kBleuOrder; ++n) {
    NgramCounts hyp = count_ngrams(hypothesis, n);
    // Each n-gram is credited up to its largest count in any one reference.
    NgramCounts max_reference;
    for (const auto& reference : references)
      for (const auto& [ngram, count] : count_ngrams(reference, n))
        max_reference[ngram] = std::max(max_reference[ngram], count);
    stats.correct[n - 1] = clipped_matches(hyp, max_reference);
    stats.total[n - 1] = std::max<int64_t>(0, hyp_len - n + 1);
  }
  return stats;
}

BleuScore bleu_from_statistics(const BleuStatistics& stats) {
  BleuScore bleu;
  bleu.hypothesis_length = stats.hypothesis_length;
  bleu.reference_length = stats.reference_length;
  double smooth = 1.0, log_sum = 0.0;
  bool any_order_empty = false;
  for (int n = 0; n < kBleuOrder; ++n) {
    if (stats.total[n] == 0) {  // hypotheses too short for this order: BLEU is 0
      any_order_empty = true;
      break;
    }
    if (stats.correct[n] == 0) {
      smooth *= 2;
      bleu.precisions[n] = 100.0 / (smooth * stats.total[n]);
    } else {
      bleu.precisions[n] = 100.0 * stats.correct[n] / stats.total[n];
    }
    log_sum += std::log(bleu.precisions[n]);
  }
  const int64_t c = bleu.hypothesis_length, r = bleu.reference_length;
  bleu.brevity_penalty = c >= r ? 1.0 : (c > 0 ? std::exp(1.0 - static_cast<double>(r) / c) : 0.0);
  if (any_order_empty || stats.correct[0] == 0) return bleu;
  bleu.score = bleu.brevity_penalty * std::exp(log_sum / kBleuOrder);
  return bleu;
}

// The chrF statistics of the reference with the best sentence-level chrF.
ChrfStatistics sentence_chrf_statistics(const ScoredSentence& sentence) {
  const auto hypothesis = chrf_characters(sentence.hypothesis, "hypothesis");
  ChrfStatistics best{};
  double best_score = -1.0;
  for (const auto& reference : sentence.references) {
    ChrfStatistics stats = chrf_statistics(hypothesis, chrf_characters(reference, "reference"));
    double score = chrf_from_statistics(stats);
    if (score > best_score) best = stats, best_score = score;
  }
  return best;
}

void add_chrf(ChrfStatistics& sum, const ChrfStatistics& stats) {
  for (size_t i = 0; i < sum.size(); ++i) sum[i] += stats[i];
}

// sacreBLEU's interval: the n/40-th lowest and highest of n sorted scores.
Interval percentile_interval(std::vector<double> scores) {
  std::sort(scores.begin(), scores.end());
  const size_t skip = scores.size() / 40;
  return {scores[skip], scores[scores.size() - 1 - skip]};
}

}  // namespace

BleuScore corpus_bleu(const std::vector<ScoredSentence>& sentences, BleuTokenizer tokenizer) {
  BleuStatistics corpus;
  for (size_t s = 0; s < sentences.size(); ++s) {
    require_references(sentences[s], s);
    corpus.add(sentence_bleu_statistics(sentences[s], tokenizer));
  }
  return bleu_from_statistics(corpus);
}

double corpus_chrf(const std::vector<ScoredSentence>& sentences) {
  ChrfStatistics corpus{};
  for (size_t s = 0; s < sentences.size(); ++s) {
    require_references(sentences[s], s);
    add_chrf(corpus, sentence_chrf_statistics(sentences[s]));
  }
  return chrf_from_statistics(corpus);
}

BootstrapIntervals bootstrap_intervals(const std::vector<ScoredSentence>& sentences,
                                       BleuTokenizer tokenizer, int samples, uint64_t seed) {
  BootstrapIntervals intervals;
  if (samples <= 0 || sentences.empty()) return intervals;
  std::vector<BleuStatistics> bleu;
  std::vector<ChrfStatistics> chrf;
  for (size_t s = 0; s < sentences.size(); ++s) {
    require_references(sentences[s], s);
    bleu.push_back(sentence_bleu_statistics(sentences[s], tokenizer));
    chrf.push_back(sentence_chrf_statistics(sentences[s]));
  }
  std::mt19937_64 random(seed);
  std::uniform_int_distribution<size_t> pick(0, sentences.size() - 1);
  std::vector<double> bleu_scores, chrf_scores;
  for (int k = 0; k < samples; ++k) {
    BleuStatistics bleu_sum;
    ChrfStatistics chrf_sum{};
    for (size_t i = 0; i < sentences.size(); ++i) {
      const size_t s = pick(random);
      bleu_sum.add(bleu[s]);
      add_chrf(chrf_sum, chrf[s]);
    }
    bleu_scores.push_back(bleu_from_statistics(bleu_sum).score);
    chrf_scores.push_back(chrf_from_statistics(chrf_sum));
  }
  intervals.bleu = percentile_interval(bleu_scores);
  intervals.chrf = percentile_interval(chrf_scores);
  intervals.samples = samples;
  return intervals;
}

int64_t edit_distance(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<int64_t> previous(b.size() + 1), current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = static_cast<int64_t>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = static_cast<int64_t>(i);
    for (size_t j = 1; j <= b.size(); ++j)
      current[j] = std::min(
          {previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(previous, current);
  }
  return previous[b.size()];
}

TokenErrorRates token_error_rates(const std::vector<ScoredSentence>& sentences) {
  TokenErrorRates rates;
  for (size_t s = 0; s < sentences.size(); ++s) {
    require_references(sentences[s], s);
    const auto hypothesis = split_whitespace(sentences[s].hypothesis);
    int64_t best_edits = std::numeric_limits<int64_t>::max(), best_length = 0;
    for (const auto& text : sentences[s].references) {
      const auto reference = split_whitespace(text);
      const int64_t edits = edit_distance(hypothesis, reference);
      // The closest reference; on a tie the longer one (the lower error rate).
      if (edits < best_edits ||
          (edits == best_edits && static_cast<int64_t>(reference.size()) > best_length)) {
        best_edits = edits;
        best_length = static_cast<int64_t>(reference.size());
      }
    }
    ++rates.sentences;
    if (best_edits > 0) ++rates.sentence_errors;
    rates.token_edits += best_edits;
    rates.reference_tokens += best_length;
  }
  return rates;
}

double TokenErrorRates::sequence_error_rate() const {
  return sentences > 0 ? 100.0 * sentence_errors / sentences : 0.0;
}

double TokenErrorRates::token_error_rate() const {
  return reference_tokens > 0 ? 100.0 * token_edits / reference_tokens : 0.0;
}

std::string format_bleu(const BleuScore& bleu) {
  char text[256];
  const double ratio = bleu.reference_length > 0
                           ? static_cast<double>(bleu.hypothesis_length) / bleu.reference_length
                           : 0.0;
  std::snprintf(
      text, sizeof text,
      "BLEU = %.2f %.1f/%.1f/%.1f/%.1f (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)",
      bleu.score, bleu.precisions[0], bleu.precisions[1], bleu.precisions[2], bleu.precisions[3],
      bleu.brevity_penalty, ratio, static_cast<long long>(bleu.hypothesis_length),
      static_cast<long long>(bleu.reference_length));
  return text;
}

}  // namespace tandem::trainer
