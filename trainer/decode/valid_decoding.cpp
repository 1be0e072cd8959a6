#include "trainer/decode/valid_decoding.h"

#include <map>
#include <nlohmann/json.hpp>

#include "ops/errors.h"
#include "trainer/decode/translator.h"

namespace tandem::trainer {

bool higher_is_better(ValidMetric metric) {
  return metric == ValidMetric::kBleu || metric == ValidMetric::kChrf;
}

double ValidationScores::value(ValidMetric metric) const {
  switch (metric) {
    case ValidMetric::kBleu:
      return bleu;
    case ValidMetric::kChrf:
      return chrf;
    case ValidMetric::kWer:
      return wer;
    case ValidMetric::kPer:
      return per;
    case ValidMetric::kLoss:
      break;
  }
  throw std::logic_error("ValidationScores::value: loss is not a decoding score");
}

ValidationDecoder::ValidationDecoder(const data::Corpus& corpus, int beam_size, int batch_size)
    : beam_size_(beam_size), batch_size_(batch_size) {
  if (beam_size < 1) throw ConfigError("valid-beam: must be at least 1");
  const data::SideInfo& target = corpus.manifest().target;
  target_vocabulary_ = corpus.target_vocabulary();
  target_tokenizer_ = data::make_tokenizer(
      target.tokenizer,
      target.sentencepiece_model.empty() ? "" : corpus.path_of(target.sentencepiece_model));
  std::map<std::vector<int32_t>, size_t> index_of;
  auto found = corpus.manifest().splits.find("valid");
  if (found == corpus.manifest().splits.end()) return;
  for (const data::ShardEntry& entry : found->second) {
    std::vector<data::Example> examples;
    data::ShardReader(corpus, "valid", entry).read(0, entry.examples, examples);
    for (const data::Example& example : examples) {
      auto [it, added] = index_of.emplace(example.source, sources_.size());
      if (added) sources_.push_back(example.source), references_.emplace_back();
      references_[it->second].push_back(text_of(example.target));
    }
  }
}

std::string ValidationDecoder::text_of(const std::vector<int32_t>& ids) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) tokens.push_back(target_vocabulary_.token(id));
  return target_tokenizer_->join(tokens);
}

std::string ValidationDecoder::decode_share(int rank, int ranks, Seq2SeqModel& model) const {
  BeamOptions options;
  options.beam_size = beam_size_;
  const auto batches = plan_decoding_batches(sources_, batch_size_);
  nlohmann::json mine = nlohmann::json::array();
  for (size_t b = static_cast<size_t>(rank); b < batches.size(); b += static_cast<size_t>(ranks)) {
    const auto hypotheses = decode_sources(model, sources_, batches[b], options);
    for (size_t k = 0; k < batches[b].size(); ++k)
      mine.push_back({batches[b][k], text_of(hypotheses[k].front().tokens)});
  }
  return mine.dump();
}

ValidationScores ValidationDecoder::score(const MpiWorld& world, const std::string& mine) const {
  std::vector<ScoredSentence> sentences(sources_.size());
  for (const std::string& share : world.all_gather(mine))
    for (const auto& entry : nlohmann::json::parse(share)) {
      const size_t index = entry[0].get<size_t>();
      sentences[index] = {entry[1].get<std::string>(), references_[index]};
    }
  ValidationScores scores;
  scores.sentences = static_cast<int64_t>(sentences.size());
  if (sentences.empty()) return scores;
  scores.bleu = corpus_bleu(sentences, bleu_tokenizer_for(sentences)).score;  // zh for Chinese
  scores.chrf = corpus_chrf(sentences);
  const TokenErrorRates rates = token_error_rates(sentences);
  scores.wer = rates.sequence_error_rate();
  scores.per = rates.token_error_rate();
  return scores;
}

}  // namespace tandem::trainer
