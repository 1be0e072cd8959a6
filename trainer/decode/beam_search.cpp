#include "trainer/decode/beam_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "ops/errors.h"

namespace tandem::trainer {
namespace {

constexpr double kDead = -std::numeric_limits<double>::infinity();

double normalized(double log_probability, size_t length, double alpha) {
  return alpha == 0.0
             ? log_probability
             : log_probability / std::pow(static_cast<double>(std::max<size_t>(1, length)), alpha);
}

struct Candidate {
  double log_probability;
  int64_t parent;
  int32_t token;
};

// The decoder rows of a beam search: `beam` consecutive rows (a group) per sentence.
struct BeamRows {
  int64_t rows = 0, groups = 0;
  std::vector<int64_t> sentence;    // per group: its row in the caller's batch
  std::vector<int64_t> max_length;  // per group: steps before its live beams are cut
};

// Starts the model on each sentence `beam` times; the model's length sort keeps the copies of a
// sentence adjacent (checked).
BeamRows start_beams(const Ensemble& models, const data::Batch& batch, int beam,
                     const BeamOptions& options) {
  Seq2SeqModel& model = *models.front();
  const int64_t N = batch.batch_size;
  std::vector<std::vector<int32_t>> sources;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<int32_t> ids;
    for (int32_t t = 0; t < batch.source_lengths[static_cast<size_t>(n)]; ++t)
      ids.push_back(batch.source[static_cast<size_t>(t * N + n)]);
    for (int k = 0; k < beam; ++k) sources.push_back(ids);
  }
  BeamRows beams;
  const data::Batch copies = data::make_source_batch(sources);
  beams.rows = model.start_decoding(copies);
  for (size_t m = 1; m < models.size(); ++m)  // the same sort: the rows line up
    if (models[m]->start_decoding(copies) != beams.rows ||
        models[m]->decoding_order() != model.decoding_order())
      throw std::logic_error("beam search: ensemble members order the rows differently");
  beams.groups = beams.rows / beam;
  const std::vector<int64_t>& order = model.decoding_order();
  for (int64_t g = 0; g < beams.groups; ++g) {
    beams.sentence.push_back(order[static_cast<size_t>(g * beam)] / beam);
    for (int k = 1; k < beam; ++k)
      if (order[static_cast<size_t>(g * beam + k)] / beam != beams.sentence.back())
        throw std::logic_error("beam search: copies of a sentence are not adjacent");
    beams.max_length.push_back(
        static_cast<int64_t>(
            std::ceil(options.max_length_factor *
                      model.decoding_source_lengths()[static_cast<size_t>(g * beam)])) +
        options.max_length_extra);
  }
  return beams;
}

// The best 2 x beam continuations of each live row of the group starting at `first` (enough to
// fill the new beam), best first; ties keep the lower row and token.
void collect_candidates(const std::vector<float>& logprobs, int64_t V, int64_t first, int beam,
                        const std::vector<double>& log_probability,
                        std::vector<Candidate>& candidates) {
  std::vector<int32_t> best_tokens(static_cast<size_t>(V));
  candidates.clear();
  for (int64_t row = first; row < first + beam; ++row) {
    if (log_probability[static_cast<size_t>(row)] == kDead) continue;
    const float* row_logprobs = logprobs.data() + row * V;
    for (int32_t v = 0; v < V; ++v) best_tokens[static_cast<size_t>(v)] = v;
    const auto keep = static_cast<std::ptrdiff_t>(std::min<int64_t>(2 * beam, V));
    std::partial_sort(
        best_tokens.begin(), best_tokens.begin() + keep, best_tokens.end(),
        [&](int32_t a, int32_t b) {
          return row_logprobs[a] != row_logprobs[b] ? row_logprobs[a] > row_logprobs[b] : a < b;
        });
    for (std::ptrdiff_t i = 0; i < keep; ++i)
      candidates.push_back({log_probability[static_cast<size_t>(row)] +
                                row_logprobs[best_tokens[static_cast<size_t>(i)]],
                            row, best_tokens[static_cast<size_t>(i)]});
  }
  std::stable_sort(
      candidates.begin(), candidates.end(),
      [](const Candidate& a, const Candidate& b) { return a.log_probability > b.log_probability; });
}

// What one step leaves: per row its tokens, log P and the row it continues.
struct StepRows {
  std::vector<std::vector<int32_t>> tokens;
  std::vector<double> log_probability;
  std::vector<int64_t> parents;
};

// Fills the group's rows of `next` from its candidates: <eos> ends a hypothesis (into `ended`,
// at most `beam`), other tokens continue; at the length limit the live beams end unfinished.
// Returns true when the group is done.
bool advance_group(const std::vector<Candidate>& candidates, int64_t first, int beam,
                   bool last_step, const std::vector<std::vector<int32_t>>& tokens,
                   std::vector<Hypothesis>& ended, StepRows& next) {
  int alive = 0;
  for (const Candidate& candidate : candidates) {
    if (alive == beam) break;
    if (candidate.token == data::kEosId) {
      if (static_cast<int>(ended.size()) < beam)
        ended.push_back(
            {tokens[static_cast<size_t>(candidate.parent)], candidate.log_probability, 0.0, true});
      continue;
    }
    if (candidate.token < data::kFirstRegularId && candidate.token != data::kUnkId)
      continue;  // <pad>, <bos>
    const auto row = static_cast<size_t>(first + alive++);
    next.parents[row] = candidate.parent;
    next.tokens[row] = tokens[static_cast<size_t>(candidate.parent)];
    next.tokens[row].push_back(candidate.token);
    next.log_probability[row] = candidate.log_probability;
  }
  if (last_step) {  // out of length: the live beams end here, unfinished
    for (int k = 0; k < alive; ++k)
      ended.push_back({next.tokens[static_cast<size_t>(first + k)],
                       next.log_probability[static_cast<size_t>(first + k)], 0.0, false});
    alive = 0;
  }
  if (static_cast<int>(ended.size()) < beam && alive > 0) return false;
  for (int k = 0; k < beam; ++k) next.log_probability[static_cast<size_t>(first + k)] = kDead;
  return true;
}

// The next-token log-probabilities of every row: the model's, or the ensemble's mean.
void mean_step(const Ensemble& models, const std::vector<int32_t>& previous,
               std::vector<float>& logprobs, std::vector<float>& member) {
  models.front()->decode_step(previous.data(), logprobs.data());
  if (models.size() == 1) return;
  for (size_t m = 1; m < models.size(); ++m) {
    models[m]->decode_step(previous.data(), member.data());
    for (size_t i = 0; i < logprobs.size(); ++i) logprobs[i] += member[i];
  }
  const float scale = 1.0f / static_cast<float>(models.size());
  for (float& value : logprobs) value *= scale;
}

// Beam search with `beam` hypotheses per sentence; returns every hypothesis it ended, per row
// of the batch (unsorted, unnormalised scores filled in by the caller).
std::vector<std::vector<Hypothesis>> run_beam(const Ensemble& models, const data::Batch& batch,
                                              int beam, const BeamOptions& options) {
  const int64_t V = models.front()->config().tgt_vocab_size;
  const BeamRows beams = start_beams(models, batch, beam, options);
  const auto rows = static_cast<size_t>(beams.rows);
  std::vector<std::vector<int32_t>> tokens(rows);
  std::vector<double> log_probability(rows, kDead);
  for (int64_t g = 0; g < beams.groups; ++g)
    log_probability[static_cast<size_t>(g * beam)] = 0.0;  // one live beam
  std::vector<int32_t> previous(rows, data::kBosId);
  std::vector<bool> done(static_cast<size_t>(beams.groups), false);
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(batch.batch_size));
  std::vector<float> logprobs(rows * static_cast<size_t>(V)),
      member(models.size() > 1 ? logprobs.size() : 0);
  std::vector<Candidate> candidates;
  for (int64_t step = 0; std::find(done.begin(), done.end(), false) != done.end(); ++step) {
    mean_step(models, previous, logprobs, member);
    StepRows next{std::vector<std::vector<int32_t>>(rows), std::vector<double>(rows, kDead),
                  std::vector<int64_t>(rows)};
    for (size_t row = 0; row < rows; ++row) next.parents[row] = static_cast<int64_t>(row);
    for (int64_t g = 0; g < beams.groups; ++g) {
      const auto group = static_cast<size_t>(g);
      if (done[group]) continue;
      collect_candidates(logprobs, V, g * beam, beam, log_probability, candidates);
      done[group] =
          advance_group(candidates, g * beam, beam, step + 1 >= beams.max_length[group], tokens,
                        finished[static_cast<size_t>(beams.sentence[group])], next);
    }
    for (Seq2SeqModel* model : models) model->select_rows(next.parents);
    tokens = std::move(next.tokens);
    log_probability = std::move(next.log_probability);
    for (size_t row = 0; row < rows; ++row)
      previous[row] = tokens[row].empty() ? data::kEosId : tokens[row].back();
  }
  return finished;
}

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search(Seq2SeqModel& model, const data::Batch& batch,
                                                 const BeamOptions& options) {
  return beam_search(Ensemble{&model}, batch, options);
}

std::vector<std::vector<Hypothesis>> beam_search(const Ensemble& models, const data::Batch& batch,
                                                 const BeamOptions& options) {
  require_config(!models.empty(), "checkpoint", "no model to decode with");
  for (const Seq2SeqModel* model : models)
    require_config(model->config().tgt_vocab_size == models.front()->config().tgt_vocab_size,
                   "ensemble", "the models have target vocabularies of different sizes");
  require_config(options.beam_size >= 1, "beam", "must be at least 1");
  require_config(options.n_best >= 1 && options.n_best <= options.beam_size, "n-best",
                 "must be in [1, beam size]");
  require_config(options.length_penalty >= 0.0, "length-penalty", "must not be negative");
  require_config(options.max_length_factor > 0.0 && options.max_length_extra >= 0,
                 "max-length-factor", "must be positive");
  std::vector<std::vector<Hypothesis>> results =
      run_beam(models, batch, options.beam_size, options);
  if (options.beam_size > 1) {  // greedy's hypothesis competes too
    std::vector<std::vector<Hypothesis>> greedy = run_beam(models, batch, 1, options);
    for (size_t n = 0; n < results.size(); ++n)
      results[n].insert(results[n].end(), greedy[n].begin(), greedy[n].end());
  }
  for (std::vector<Hypothesis>& hypotheses : results) {
    for (Hypothesis& h : hypotheses)
      h.score = normalized(h.log_probability, h.tokens.size() + (h.finished ? 1 : 0),
                           options.length_penalty);
    std::stable_sort(hypotheses.begin(), hypotheses.end(),
                     [](const Hypothesis& a, const Hypothesis& b) { return a.score > b.score; });
    std::vector<Hypothesis> unique;
    for (Hypothesis& h : hypotheses) {
      const bool seen = std::any_of(unique.begin(), unique.end(),
                                    [&](const Hypothesis& u) { return u.tokens == h.tokens; });
      if (!seen && static_cast<int>(unique.size()) < options.n_best) unique.push_back(std::move(h));
    }
    hypotheses = std::move(unique);
  }
  return results;
}

}  // namespace tandem::trainer
