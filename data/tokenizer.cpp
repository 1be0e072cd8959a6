#include "data/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <algorithm>

#include "data/atomic_file.h"
#include "data/utf8.h"
#include "ops/errors.h"

namespace tandem::data {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

class CharTokenizer : public Tokenizer {
 public:
  std::vector<std::string> split(std::string_view text) const override {
    return split_code_points(text);
  }
  std::string join(const std::vector<std::string>& tokens) const override {
    std::string text;
    for (const std::string& token : tokens) text += token;
    return text;
  }
  TokenizerKind kind() const override { return TokenizerKind::kChar; }
};

class WordTokenizer : public Tokenizer {
 public:
  std::vector<std::string> split(std::string_view text) const override {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && is_space(text[i])) ++i;
      const size_t start = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      if (i > start) words.emplace_back(text.substr(start, i - start));
    }
    return words;
  }
  std::string join(const std::vector<std::string>& tokens) const override {
    std::string text;
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
    return text;
  }
  TokenizerKind kind() const override { return TokenizerKind::kWord; }
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& model_path) {
    const auto status = processor_.Load(model_path);
    if (!status.ok()) {
      if (status.code() == sentencepiece::util::StatusCode::kNotFound)
        throw IoError(model_path + ": cannot open SentencePiece model");
      throw FormatError(model_path + ": not a SentencePiece model (" + status.ToString() + ")");
    }
  }
  std::vector<std::string> split(std::string_view text) const override {
    std::vector<std::string> pieces;
    processor_.Encode(text, &pieces);
    return pieces;
  }
  std::string join(const std::vector<std::string>& tokens) const override {
    std::string text;
    processor_.Decode(tokens, &text);
    return text;
  }
  TokenizerKind kind() const override { return TokenizerKind::kSentencePiece; }
  std::vector<std::string> inventory() const override {
    std::vector<std::string> pieces;
    for (int id = 0; id < processor_.GetPieceSize(); ++id)
      if (!processor_.IsUnknown(id) && !processor_.IsControl(id))
        pieces.push_back(processor_.IdToPiece(id));
    return pieces;
  }

 private:
  sentencepiece::SentencePieceProcessor processor_;
};

class VectorIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorIterator(const std::vector<std::string>& sentences) : sentences_(sentences) {}
  bool done() const override { return index_ >= sentences_.size(); }
  void Next() override { ++index_; }
  const std::string& value() const override { return sentences_[index_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  const std::vector<std::string>& sentences_;
  size_t index_ = 0;
};

}  // namespace

std::unique_ptr<Tokenizer> make_tokenizer(TokenizerKind kind, const std::string& model_path) {
  switch (kind) {
    case TokenizerKind::kChar:
      return std::make_unique<CharTokenizer>();
    case TokenizerKind::kWord:
      return std::make_unique<WordTokenizer>();
    case TokenizerKind::kSentencePiece:
      return std::make_unique<SentencePieceTokenizer>(model_path);
  }
  return nullptr;
}

void train_sentencepiece(const std::vector<std::string>& sentences, int vocab_size,
                         const std::string& model_type, const std::string& normalization,
                         const std::string& model_path) {
  require_config(model_type == "bpe" || model_type == "unigram", "sp-model-type",
                 "expected bpe or unigram, got '" + model_type + "'");
  const std::vector<std::string> rules = {"identity", "nfkc", "nmt_nfkc", "nfkc_cf", "nmt_nfkc_cf"};
  require_config(
      std::find(rules.begin(), rules.end(), normalization) != rules.end(), "sp-normalization",
      "expected identity, nfkc, nmt_nfkc, nfkc_cf or nmt_nfkc_cf, got '" + normalization + "'");
  require_config(vocab_size > 3, "vocab-size",
                 "SentencePiece needs a vocabulary size of at least 4");
  const std::string args =
      "--model_type=" + model_type + " --vocab_size=" + std::to_string(vocab_size) +
      " --normalization_rule_name=" + normalization +
      " --character_coverage=1.0 --bos_id=-1 --eos_id=-1 --unk_id=0 --num_threads=1"
      " --minloglevel=2 --input_sentence_size=0 --hard_vocab_limit=false";
  VectorIterator iterator(sentences);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &iterator, &model);
  if (!status.ok())
    throw ConfigError("vocab-size: SentencePiece training failed: " + status.ToString());
  write_file_atomically(model_path, model);
}

}  // namespace tandem::data
