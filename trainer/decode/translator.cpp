#include "trainer/decode/translator.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>

#include "data/batch.h"
#include "data/corpus.h"
#include "data/utf8.h"
#include "ops/errors.h"
#include "trainer/checkpoint/checkpoint.h"
#include "trainer/model/model_config.h"

namespace tandem::trainer {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_ascii_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ascii_space(text.back())) text.remove_suffix(1);
  return text;
}

// The longest training source the corpus's preparation saw (0 if not recorded).
int64_t longest_training_source(const data::Manifest& manifest) {
  try {
    const auto summary = nlohmann::json::parse(manifest.summary_json);
    return summary.at("length_percentiles").at("source").at("max").get<int64_t>();
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
}

// The corpus a run trained on. A relative path is relative to where training started, which
// may not be here: that directory is the checkpoint's run directory minus the run-dir the run
// was given (e.g. /data/exp/run/checkpoints/ckpt.h5 with run-dir "run" -> /data/exp).
std::string locate_run_corpus(const std::string& corpus, const std::string& run_dir,
                              const std::string& checkpoint) {
  namespace fs = std::filesystem;
  if (fs::exists(corpus) || fs::path(corpus).is_absolute() || run_dir.empty()) {
    if (!fs::exists(corpus))
      throw ConfigError("corpus: " + corpus +
                        ", the corpus the run trained on, is not there; "
                        "give --corpus DIR");
    return corpus;
  }
  fs::path start = fs::absolute(checkpoint).lexically_normal().parent_path().parent_path();
  const fs::path given = fs::path(run_dir).lexically_normal();
  std::vector<fs::path> parts(given.begin(), given.end());
  bool matches = !fs::path(run_dir).is_absolute();
  for (auto part = parts.rbegin(); matches && part != parts.rend(); ++part) {
    if (part->empty() || *part == ".") continue;
    matches = start.filename() == *part;
    start = start.parent_path();
  }
  const fs::path candidate = start / corpus;
  if (matches && fs::exists(candidate)) return candidate.string();
  throw ConfigError("corpus: " + corpus +
                    ", the corpus the run trained on, is not there "
                    "(relative to where training started?); give --corpus DIR");
}

}  // namespace

std::vector<std::vector<size_t>> plan_decoding_batches(
    const std::vector<std::vector<int32_t>>& sources, int batch_size) {
  if (batch_size < 1) throw ConfigError("batch-size: must be at least 1");
  std::vector<size_t> order(sources.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].size() > sources[b].size(); });
  std::vector<std::vector<size_t>> batches;
  for (size_t at = 0; at < order.size(); at += static_cast<size_t>(batch_size))
    batches.emplace_back(
        order.begin() + static_cast<std::ptrdiff_t>(at),
        order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), at + batch_size)));
  return batches;
}

std::vector<std::vector<Hypothesis>> decode_sources(
    Seq2SeqModel& model, const std::vector<std::vector<int32_t>>& sources,
    const std::vector<size_t>& indices, const BeamOptions& options) {
  return decode_sources(Ensemble{&model}, sources, indices, options);
}

std::vector<std::vector<Hypothesis>> decode_sources(
    const Ensemble& models, const std::vector<std::vector<int32_t>>& sources,
    const std::vector<size_t>& indices, const BeamOptions& options) {
  std::vector<std::vector<int32_t>> batch_sources;
  for (size_t index : indices) batch_sources.push_back(sources.at(index));
  return beam_search(models, data::make_source_batch(batch_sources), options);
}

Translator::Translator(const TranslatorOptions& options, ops::DnnlContext& ctx) {
  checkpoint_path_ = resolve_checkpoint(options.checkpoint, options.prefer_best);
  CheckpointIdentity identity = read_checkpoint_identity(checkpoint_path_, &step_);
  std::string corpus_directory = options.corpus;
  if (corpus_directory.empty()) {
    auto run_config = parse_key_value_lines(identity.run_config);
    corpus_directory = run_config["corpus"];
    if (corpus_directory.empty())
      throw ConfigError("corpus: " + checkpoint_path_ + " does not name its corpus; give --corpus");
    corpus_directory = locate_run_corpus(corpus_directory, run_config["run-dir"], checkpoint_path_);
  }
  const data::Corpus corpus = data::Corpus::open(corpus_directory);
  const data::Manifest& manifest = corpus.manifest();
  if (manifest.source.vocab_checksum != identity.src_vocab_checksum ||
      manifest.target.vocab_checksum != identity.tgt_vocab_checksum)
    throw ConfigError("corpus: the vocabularies of " + corpus_directory + " (" +
                      manifest.source.vocab_checksum + ", " + manifest.target.vocab_checksum +
                      ") are not the ones " + checkpoint_path_ + " was trained with (" +
                      identity.src_vocab_checksum + ", " + identity.tgt_vocab_checksum + ")");
  source_vocabulary_ = corpus.source_vocabulary();
  target_vocabulary_ = corpus.target_vocabulary();
  auto tokenizer_for = [&](const data::SideInfo& side) {
    return data::make_tokenizer(side.tokenizer, side.sentencepiece_model.empty()
                                                    ? ""
                                                    : corpus.path_of(side.sentencepiece_model));
  };
  source_tokenizer_ = tokenizer_for(manifest.source);
  target_tokenizer_ = tokenizer_for(manifest.target);
  max_source_tokens_ = options.max_source_tokens > 0
                           ? options.max_source_tokens
                           : std::max<int64_t>(64, 2 * longest_training_source(manifest));

  model_ = std::make_unique<Seq2SeqModel>(
      model_config_from_key_values(parse_key_value_lines(identity.model_config)), ctx);
  identity.optimizer.clear();  // the optimizer state is not needed (but still verified)
  CheckpointProblem problem;
  auto loaded = load_checkpoint(checkpoint_path_, model_->params(), identity, problem);
  if (!loaded) throw FormatError(problem.message);
  std::copy(loaded->values.begin(), loaded->values.end(), model_->params().values());
  model_->params().mark_values_changed();
}

PreparedSource Translator::prepare(std::string_view line) const {
  PreparedSource prepared;
  size_t bad_byte = 0;
  if (!data::is_valid_utf8(line, &bad_byte)) {
    prepared.problem = "invalid UTF-8 at byte " + std::to_string(bad_byte + 1);
    return prepared;
  }
  const std::string_view text = trim(line);
  if (text.empty()) {
    prepared.problem = "empty line";
    return prepared;
  }
  prepared.tokens = source_tokenizer_->split(text);
  if (static_cast<int64_t>(prepared.tokens.size()) > max_source_tokens_) {
    prepared.problem = "too long: " + std::to_string(prepared.tokens.size()) + " tokens (limit " +
                       std::to_string(max_source_tokens_) + ", --max-source-tokens)";
    prepared.tokens.clear();
    return prepared;
  }
  if (prepared.tokens.empty()) {
    prepared.problem = "no tokens";
    return prepared;
  }
  for (const std::string& token : prepared.tokens)
    prepared.ids.push_back(source_vocabulary_.id(token));
  return prepared;
}

std::vector<std::string> Translator::target_tokens(const std::vector<int32_t>& ids) const {
  std::vector<std::string> tokens;
  for (int32_t id : ids) tokens.push_back(target_vocabulary_.token(id));
  return tokens;
}

std::string Translator::detokenize(const std::vector<int32_t>& ids, const PreparedSource* source) {
  std::vector<std::string> tokens = target_tokens(ids);
  const bool has_unk = std::find(ids.begin(), ids.end(), data::kUnkId) != ids.end();
  if (source && has_unk && model_->config().attention != AttentionType::kNone) {
    const std::vector<float> weights = model_->attention_matrix(source->ids, ids);
    const size_t S = source->ids.size();
    for (size_t t = 0; t < ids.size(); ++t) {
      if (ids[t] != data::kUnkId) continue;
      const auto row = weights.begin() + static_cast<std::ptrdiff_t>(t * S);
      tokens[t] = source->tokens[static_cast<size_t>(
          std::max_element(row, row + static_cast<std::ptrdiff_t>(S)) - row)];
    }
  }
  return target_tokenizer_->join(tokens);
}

}  // namespace tandem::trainer
