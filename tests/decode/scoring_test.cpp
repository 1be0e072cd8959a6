// BLEU, chrF, WER and PER against small cases computed by hand (the arithmetic is in the
// comments), following sacreBLEU 2.x's definitions.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/errors.h"
#include "trainer/decode/scoring.h"

namespace tandem {
namespace {

using trainer::ScoredSentence;

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::string token;
  for (char c : text) {
    if (c == ' ') {
      if (!token.empty()) out.push_back(token), token.clear();
    } else {
      token += c;
    }
  }
  if (!token.empty()) out.push_back(token);
  return out;
}

TEST(Tokenize13a, SplitsPunctuationButKeepsNumbersAndContractions) {
  // Symbols become tokens; "." and "," stay inside numbers; a dash after a digit splits off;
  // the apostrophe and a dash between letters are not in 13a's symbol class.
  EXPECT_EQ(trainer::tokenize_13a("Hello, world! It's 3.5-4 km."),
            "Hello , world ! It's 3.5 - 4 km .");
  EXPECT_EQ(trainer::tokenize_13a("well-known (a/b) \"x\""), "well-known ( a / b ) \" x \"");
  // XML entities are unescaped first; "1,000.5" is one token.
  EXPECT_EQ(trainer::tokenize_13a("&quot;quoted&quot; &amp; 1,000.5"), "\" quoted \" & 1,000.5");
  EXPECT_EQ(trainer::tokenize_13a("  spaced\tout  "), "spaced out");
  EXPECT_EQ(trainer::tokenize_13a("wait..."), "wait . . .");
}

TEST(TokenizeZh, ChineseCharactersSplitThen13aRules) {
  using trainer::BleuTokenizer;
  auto zh = [](const std::string& line) {
    return trainer::tokenize_for_bleu(line, BleuTokenizer::kZh);
  };
  EXPECT_EQ(zh("我爱你"), "我 爱 你");
  // Full-width ， and ！ (U+FF0C, U+FF01) are in the Chinese ranges; Latin, digits and ASCII
  // punctuation follow 13a: "file.txt" splits at its period, "3.5" stays whole.
  EXPECT_EQ(zh("打开 file.txt 文件，共 3.5 MB！"), "打 开 file . txt 文 件 ， 共 3.5 MB ！");
  EXPECT_EQ(zh("你好!(ok)"), "你 好 ! ( ok )");
  // sacreBLEU's range quirk: U+2001-U+2A6D count as Chinese, so curly quotes, the em dash and
  // the ellipsis become tokens of their own; U+2000 does not.
  EXPECT_EQ(zh("“你好”—OK…"), "“ 你 好 ” — OK …");
  EXPECT_TRUE(trainer::is_chinese_for_bleu(0x2001));
  EXPECT_FALSE(trainer::is_chinese_for_bleu(0x2000));
  EXPECT_TRUE(trainer::is_chinese_for_bleu(0x2A6D));
  EXPECT_FALSE(trainer::is_chinese_for_bleu(0x2A6E));
  EXPECT_FALSE(trainer::is_chinese_for_bleu(0x20000));  // not reached by sacreBLEU's ranges
  EXPECT_FALSE(trainer::is_chinese_for_bleu('a'));
  EXPECT_THROW(zh("bad \xff byte"), FormatError);
}

TEST(TokenizeChar, EveryNonSpaceCharacterAToken) {
  using trainer::BleuTokenizer;
  EXPECT_EQ(trainer::tokenize_for_bleu(" ab c，d ", BleuTokenizer::kChar), "a b c ， d");
  EXPECT_EQ(trainer::tokenize_for_bleu(" a  b, c ", BleuTokenizer::kNone), "a b, c");
}

TEST(CorpusBleu, ZhTokensByHandAndTheSignature) {
  using trainer::BleuTokenizer;
  // hyp 我 爱 你 们, ref 我 爱 你: 1-grams 3/4, 2-grams 2/3, 3-grams 1/2, 4-grams 0/1 -> 100/2;
  // BP 1 (4 >= 3). BLEU = 100 x (3/4 x 2/3 x 1/2 x 1/2)^(1/4) = 100 x (1/8)^(1/4) = 59.46.
  const std::vector<ScoredSentence> corpus = {{"我爱你们", {"我爱你"}}};
  EXPECT_NEAR(trainer::corpus_bleu(corpus, BleuTokenizer::kZh).score,
              100.0 * std::pow(1.0 / 8.0, 0.25), 1e-9);
  EXPECT_EQ(trainer::corpus_bleu(corpus, BleuTokenizer::k13a).score, 0.0);  // one token each
  EXPECT_EQ(trainer::bleu_tokenizer_for(corpus), BleuTokenizer::kZh);
  EXPECT_EQ(trainer::bleu_tokenizer_for({{"I love you", {"I love you", "我爱你"}}}),
            BleuTokenizer::k13a);  // 8 Latin letters against 3 Chinese characters
  EXPECT_EQ(trainer::bleu_signature({{"a", {"b", "c"}}, {"d", {"e"}}}, BleuTokenizer::kZh),
            "nrefs:2|case:mixed|eff:no|tok:zh|smooth:exp|version:tandem");
}

TEST(Bootstrap, IntervalsHoldTheScoreAndAreSeeded) {
  using trainer::BleuTokenizer;
  std::vector<ScoredSentence> perfect, mixed;
  for (int i = 0; i < 60; ++i) {
    const std::string sentence = "the cat number " + std::to_string(i) + " sat on the mat";
    perfect.push_back({sentence, {sentence}});
    mixed.push_back({i % 3 ? sentence : "a dog ran far away from home today", {sentence}});
  }
  const auto exact = trainer::bootstrap_intervals(perfect, BleuTokenizer::k13a, 200);
  EXPECT_NEAR(exact.bleu.low, 100.0, 1e-9);
  EXPECT_NEAR(exact.bleu.high, 100.0, 1e-9);
  EXPECT_NEAR(exact.chrf.low, 100.0, 1e-9);
  const auto first = trainer::bootstrap_intervals(mixed, BleuTokenizer::k13a, 300, 7);
  const auto again = trainer::bootstrap_intervals(mixed, BleuTokenizer::k13a, 300, 7);
  const double bleu = trainer::corpus_bleu(mixed).score, chrf = trainer::corpus_chrf(mixed);
  EXPECT_LT(first.bleu.low, bleu);
  EXPECT_GT(first.bleu.high, bleu);
  EXPECT_LT(first.chrf.low, chrf);
  EXPECT_GT(first.chrf.high, chrf);
  EXPECT_EQ(first.bleu.low, again.bleu.low);
  EXPECT_EQ(first.chrf.high, again.chrf.high);
  EXPECT_EQ(first.samples, 300);
}

TEST(CorpusBleu, OneSentenceByHand) {
  // hyp: the cat sat on the mat   ref: the cat is on the mat   (6 tokens each, BP = 1)
  // 1-grams 5/6 (the x2, cat, on, mat), 2-grams 3/5 (the cat, on the, the mat),
  // 3-grams 1/4 (on the mat), 4-grams 0/3 -> 'exp' smoothing: 100 / (2 x 3) = 16.67 %.
  // BLEU = 100 x (5/6 x 3/5 x 1/4 x 1/6)^(1/4) = 100 x (1/48)^(1/4) = 37.99.
  auto bleu = trainer::corpus_bleu({{"the cat sat on the mat", {"the cat is on the mat"}}});
  EXPECT_NEAR(bleu.score, 100.0 * std::pow(1.0 / 48.0, 0.25), 1e-9);
  EXPECT_NEAR(bleu.precisions[0], 100.0 * 5 / 6, 1e-9);
  EXPECT_NEAR(bleu.precisions[3], 100.0 / 6, 1e-9);
  EXPECT_EQ(trainer::format_bleu(bleu),
            "BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)");
}

TEST(CorpusBleu, SmoothingDoublesForEachZeroOrder) {
  // hyp: a b x c d   ref: a b y c d
  // 1-grams 4/5, 2-grams 2/4, 3-grams 0/3 -> 100/(2x3), 4-grams 0/2 -> 100/(4x2).
  auto bleu = trainer::corpus_bleu({{"a b x c d", {"a b y c d"}}});
  EXPECT_NEAR(bleu.precisions[2], 100.0 / 6, 1e-9);
  EXPECT_NEAR(bleu.precisions[3], 100.0 / 8, 1e-9);
  EXPECT_NEAR(bleu.score, 100.0 * std::pow(0.8 * 0.5 / 6 / 8, 0.25), 1e-9);
}

TEST(CorpusBleu, BrevityPenaltyUsesTheClosestReference) {
  // All hypothesis n-grams occur in the first reference: precisions 100 %. The closest
  // reference length is 7 (|7-6| < |9-6|), so BLEU = BP = exp(1 - 7/6) = 84.65.
  auto bleu = trainer::corpus_bleu(
      {{"the cat is on the mat",
        {"the cat is on the mat today", "there is a cat on the mat right now"}}});
  EXPECT_EQ(bleu.reference_length, 7);
  EXPECT_NEAR(bleu.score, 100.0 * std::exp(1.0 - 7.0 / 6.0), 1e-9);
  // A tie in distance (4 and 6 around 5) takes the shorter reference: no penalty.
  auto tie = trainer::corpus_bleu({{"a b c d e", {"a b c d", "a b c d e f"}}});
  EXPECT_EQ(tie.reference_length, 4);
  EXPECT_NEAR(tie.score, 100.0, 1e-9);
}

TEST(CorpusBleu, ClipsByTheLargestCountInAnyReference) {
  // "the" x4 in the hypothesis; at most 2 in one reference (not 1 + 2 summed over references).
  // 1-grams 2/4; 2-grams (the the) x3 vs at most 1 -> 1/3; 3-grams 0/2 -> 100/(2x2);
  // 4-grams 0/1 -> 100/(4x1). Closest reference length 4 (|4-4| = 0), BP 1.
  auto bleu = trainer::corpus_bleu({{"the the the the", {"the cat", "the the cat sat"}}});
  EXPECT_NEAR(bleu.precisions[0], 50.0, 1e-9);
  EXPECT_NEAR(bleu.precisions[1], 100.0 / 3, 1e-9);
  EXPECT_NEAR(bleu.score, 100.0 * std::pow(0.5 / 3 / 4 / 4, 0.25), 1e-9);
}

TEST(CorpusBleu, SumsStatisticsOverTheCorpusAndHandlesDegenerateCases) {
  // Statistics are summed: two copies of a sentence score as one (when no order is smoothed;
  // the smoothed value 100 / (2 x total) depends on the corpus size), and two different
  // sentences score by their summed counts, not by the mean of their BLEUs.
  // a: the cat sat on the mat / the cat sat on a mat: 5/6, 3/5, 2/4, 1/3.
  // b: a b c d / a b c d: 4/4, 3/3, 2/2, 1/1. Together: 9/10, 6/8, 4/6, 2/4.
  ScoredSentence a{"the cat sat on the mat", {"the cat sat on a mat"}}, b{"a b c d", {"a b c d"}};
  EXPECT_NEAR(trainer::corpus_bleu({a, a}).score, trainer::corpus_bleu({a}).score, 1e-9);
  EXPECT_NEAR(trainer::corpus_bleu({a}).score, 100.0 * std::pow(5.0 / 6 * 3 / 5 * 2 / 4 / 3, 0.25),
              1e-9);
  EXPECT_NEAR(trainer::corpus_bleu({a, b}).score, 100.0 * std::pow(0.9 * 0.75 * 4 / 6 * 0.5, 0.25),
              1e-9);
  // No unigram matches, or hypotheses too short to have 4-grams: 0.
  EXPECT_EQ(trainer::corpus_bleu({{"x y z w", {"a b c d"}}}).score, 0.0);
  EXPECT_EQ(trainer::corpus_bleu({{"a b", {"a b"}}}).score, 0.0);
  EXPECT_EQ(trainer::corpus_bleu({{"", {"a b"}}}).score, 0.0);
  EXPECT_THROW(trainer::corpus_bleu({{"a", {}}}), ConfigError);
}

TEST(CorpusChrf, CharacterNgramsByHand) {
  // hyp abc, ref abd: 1-grams P = R = 2/3, 2-grams 1/2, 3-grams 0/1; orders 4-6 are empty on
  // both sides and are left out. Average P = R = (2/3 + 1/2 + 0)/3 = 7/18, so F2 = 7/18.
  EXPECT_NEAR(trainer::corpus_chrf({{"abc", {"abd"}}}), 100.0 * 7 / 18, 1e-9);
  // hyp "a b" (whitespace removed: ab), ref abc: P = (1 + 1)/2 = 1, R = (2/3 + 1/2)/2 = 7/12;
  // F2 = 5 P R / (4 P + R) = (35/12) / (55/12) = 7/11. The better of two references is used.
  EXPECT_NEAR(trainer::corpus_chrf({{"a b", {"xyz", "abc"}}}), 100.0 * 7 / 11, 1e-9);
  EXPECT_NEAR(trainer::corpus_chrf({{"same text", {"same text"}}}), 100.0, 1e-9);
}

TEST(CorpusChrf, SumsStatisticsBeforeAveraging) {
  // The two sentences above together: 1-grams hyp 5, ref 6, match 4; 2-grams 3, 4, 2;
  // 3-grams 1, 2, 0. P = (4/5 + 2/3 + 0)/3 = 22/45, R = (4/6 + 2/4 + 0)/3 = 7/18.
  const double p = 22.0 / 45, r = 7.0 / 18;
  EXPECT_NEAR(trainer::corpus_chrf({{"abc", {"abd"}}, {"ab", {"abc"}}}),
              100.0 * 5 * p * r / (4 * p + r), 1e-9);
  // Code points, not bytes: a 2-byte character matched once is one 1-gram.
  EXPECT_NEAR(trainer::corpus_chrf({{"é", {"é"}}}), 100.0, 1e-9);
  EXPECT_NEAR(trainer::corpus_chrf({{"éa", {"éb"}}}), 100.0 * (0.5 + 0) / 2, 1e-9);
}

TEST(TokenErrorRates, SequenceAndPhonemeErrorsWithSeveralPronunciations) {
  std::vector<ScoredSentence> words = {
      {"K AE1 T", {"K AE1 T"}},                                           // right: 0 / 3
      {"T AH0 M AA1 T OW2", {"T AH0 M EY1 T OW2", "T AH0 M AA1 T OW0"}},  // 1 / 6, wrong
      {"R IY1 D", {"R EH1 D", "R IY1 D"}},  // the second pronunciation: right, 0 / 3
      {"AH0 B", {"AH0 B AW1 T"}},           // two deletions: 2 / 4, wrong
  };
  auto rates = trainer::token_error_rates(words);
  EXPECT_EQ(rates.sentences, 4);
  EXPECT_EQ(rates.sentence_errors, 2);
  EXPECT_EQ(rates.token_edits, 3);
  EXPECT_EQ(rates.reference_tokens, 16);
  EXPECT_NEAR(rates.sequence_error_rate(), 50.0, 1e-12);
  EXPECT_NEAR(rates.token_error_rate(), 100.0 * 3 / 16, 1e-12);
  // Equally close references of different lengths: the longer one counts (1 edit / 3 tokens).
  auto tie = trainer::token_error_rates({{"A B", {"A", "A B C"}}});
  EXPECT_EQ(tie.reference_tokens, 3);
  EXPECT_EQ(tie.token_edits, 1);
}

TEST(EditDistance, Levenshtein) {
  EXPECT_EQ(trainer::edit_distance(split("k i t t e n"), split("s i t t i n g")), 3);
  EXPECT_EQ(trainer::edit_distance({}, split("a b c")), 3);
  EXPECT_EQ(trainer::edit_distance(split("a b c"), {}), 3);
  EXPECT_EQ(trainer::edit_distance(split("a b c"), split("a b c")), 0);
  EXPECT_EQ(trainer::edit_distance(split("a b c d"), split("b c d a")), 2);
}

}  // namespace
}  // namespace tandem
