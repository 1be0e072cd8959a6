// Corpus-level scores of hypotheses against one or more references per sentence.
//
// BLEU follows sacreBLEU 2.x's defaults (signature nrefs:N|case:mixed|eff:no|tok:13a|smooth:exp):
// the 13a (mteval-v13a) tokeniser, n-grams up to 4 clipped by the maximum count over the
// references, the closest reference length (ties -> the shorter), brevity penalty
// exp(1 - r/c), and 'exp' smoothing of zero n-gram matches (the k-th zero precision becomes
// 100 / (2^k x total)). Tokenisers as sacreBLEU's: 13a; zh (every character in sacreBLEU's
// Chinese ranges becomes a token, then 13a; docs/decoding.md lists the ranges, including the
// quirk they inherit); char (every non-space character a token); none (whitespace only). Not
// supported: intl (needs Unicode property tables), ja-mecab, lowercasing, other smoothing
// methods, Unicode whitespace beyond ASCII in the final split.
// chrF follows sacreBLEU 2.x's CHRF() defaults: character n-grams 1..6, whitespace removed,
// beta 2, precision and recall averaged over the orders both sides have n-grams of, no word
// n-grams (chrF++ is not supported); with several references each sentence uses the one with
// the best sentence-level chrF.
// For token tasks (G2P): sequence error rate (called WER in the G2P literature: the share of
// sentences whose hypothesis equals none of the references) and token error rate (PER:
// Levenshtein distance to the closest reference, summed, over the summed lengths of those
// references). Tokens are split on whitespace.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ops/settings.h"

namespace tandem::trainer {

enum class BleuTokenizer { k13a, kZh, kChar, kNone };
// The names are sacreBLEU's (they appear in signatures): never rename.
inline const EnumNames<BleuTokenizer> kBleuTokenizerNames("bleu-tokenize",
                                                          {{BleuTokenizer::k13a, "13a"},
                                                           {BleuTokenizer::kZh, "zh"},
                                                           {BleuTokenizer::kChar, "char"},
                                                           {BleuTokenizer::kNone, "none"}});

// One sentence's hypothesis and its references (at least one).
struct ScoredSentence {
  std::string hypothesis;
  std::vector<std::string> references;
};

struct BleuScore {
  double score = 0.0;                  // 0..100
  std::array<double, 4> precisions{};  // percent, after smoothing (as sacreBLEU prints them)
  double brevity_penalty = 0.0;
  int64_t hypothesis_length = 0;  // 13a tokens
  int64_t reference_length = 0;   // closest reference lengths, summed
};

struct TokenErrorRates {
  int64_t sentences = 0;
  int64_t sentence_errors = 0;         // hypotheses equal to no reference
  int64_t token_edits = 0;             // edit distance to the closest reference, summed
  int64_t reference_tokens = 0;        // lengths of those closest references, summed
  double sequence_error_rate() const;  // percent ("WER" in G2P papers)
  double token_error_rate() const;     // percent ("PER")
};

// One line's BLEU tokens joined by single spaces. FormatError for invalid UTF-8 (zh, char).
std::string tokenize_13a(std::string_view line);
std::string tokenize_for_bleu(std::string_view line, BleuTokenizer tokenizer);
// sacreBLEU's test for a Chinese character (its zh tokeniser's ranges), on one code point.
bool is_chinese_for_bleu(char32_t code_point);
// zh when most non-space characters of the references are Chinese in that sense, else 13a.
BleuTokenizer bleu_tokenizer_for(const std::vector<ScoredSentence>& sentences);
// "nrefs:1|case:mixed|eff:no|tok:zh|smooth:exp|version:tandem" (nrefs: the most references any
// sentence has, as sacreBLEU counts reference streams).
std::string bleu_signature(const std::vector<ScoredSentence>& sentences, BleuTokenizer tokenizer);

BleuScore corpus_bleu(const std::vector<ScoredSentence>& sentences,
                      BleuTokenizer tokenizer = BleuTokenizer::k13a);
double corpus_chrf(const std::vector<ScoredSentence>& sentences);  // 0..100

// Bootstrap resampling (Koehn 2004): `samples` corpora of as many sentences drawn with
// replacement (seeded), each scored; the interval is the 2.5th to 97.5th percentile of those
// scores (sacreBLEU's rule: the n/40-th lowest and highest).
struct Interval {
  double low = 0.0, high = 0.0;
};
struct BootstrapIntervals {
  Interval bleu, chrf;
  int samples = 0;
};
BootstrapIntervals bootstrap_intervals(const std::vector<ScoredSentence>& sentences,
                                       BleuTokenizer tokenizer, int samples, uint64_t seed = 1);
TokenErrorRates token_error_rates(const std::vector<ScoredSentence>& sentences);

// Levenshtein distance between two token sequences (unit costs).
int64_t edit_distance(const std::vector<std::string>& a, const std::vector<std::string>& b);

// sacreBLEU-style one-line summaries, e.g.
// "BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)".
std::string format_bleu(const BleuScore& bleu);

}  // namespace tandem::trainer
