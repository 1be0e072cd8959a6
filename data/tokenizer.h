// Text <-> tokens for one side of a corpus: Unicode characters, whitespace-separated words, or
// SentencePiece subwords (BPE or unigram, trained here or loaded from a given .model).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ops/settings.h"

namespace tandem::data {

// Names (char, word, sentencepiece) are persisted in corpus manifests: never rename.
enum class TokenizerKind { kChar, kWord, kSentencePiece };

inline const EnumNames<TokenizerKind> kTokenizerNames("tokenizer", {{TokenizerKind::kChar, "char"},
                                                                    {TokenizerKind::kWord, "word"},
                                                                    {TokenizerKind::kSentencePiece,
                                                                     "sentencepiece"}});

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Requires: valid UTF-8. Never returns empty tokens.
  virtual std::vector<std::string> split(std::string_view text) const = 0;
  // Inverse of split (detokenisation for output).
  virtual std::string join(const std::vector<std::string>& tokens) const = 0;
  virtual TokenizerKind kind() const = 0;
  // The model's own token inventory in its order (SentencePiece pieces); empty for char/word,
  // whose vocabularies come from counting.
  virtual std::vector<std::string> inventory() const { return {}; }
};

// char and word need no model; sentencepiece needs the path of a trained .model (IoError /
// FormatError naming it if it cannot be loaded).
std::unique_ptr<Tokenizer> make_tokenizer(TokenizerKind kind, const std::string& model_path = "");

// Trains a SentencePiece model (model_type "bpe" or "unigram", vocab_size pieces including its
// own <unk>, SentencePiece's normalization rule: identity, nfkc, nmt_nfkc, nfkc_cf or
// nmt_nfkc_cf) on `sentences` and writes it to model_path atomically. Single-threaded, so the same
// input gives the same model. ConfigError if SentencePiece rejects the settings (e.g. a vocab
// size larger than the text allows), naming the option.
void train_sentencepiece(const std::vector<std::string>& sentences, int vocab_size,
                         const std::string& model_type, const std::string& normalization,
                         const std::string& model_path);

}  // namespace tandem::data
