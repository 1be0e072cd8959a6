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

// Beam search with `beam` hypotheses per sentence; returns every hypothesis it ended, per row
// of the batch (unsorted, unnormalised scores filled in by the caller).
std::vector<std::vector<Hypothesis>> run_beam(Seq2SeqModel& model, const data::Batch& batch,
                                              int beam, const BeamOptions& options) {
  const int64_t N = batch.batch_size, V = model.config().tgt_vocab_size;
  // Each sentence `beam` times; the model's length sort keeps the copies of a sentence adjacent.
  std::vector<std::vector<int32_t>> sources;
  for (int64_t n = 0; n < N; ++n) {
    std::vector<int32_t> ids;
    for (int32_t t = 0; t < batch.source_lengths[static_cast<size_t>(n)]; ++t)
      ids.push_back(batch.source[static_cast<size_t>(t * N + n)]);
    for (int k = 0; k < beam; ++k) sources.push_back(ids);
  }
  const int64_t rows = model.start_decoding(data::make_source_batch(sources));
  const std::vector<int64_t>& order = model.decoding_order();
  const int64_t groups = rows / beam;
  std::vector<int64_t> sentence(static_cast<size_t>(groups)),
      max_length(static_cast<size_t>(groups));
  for (int64_t g = 0; g < groups; ++g) {
    sentence[static_cast<size_t>(g)] = order[static_cast<size_t>(g * beam)] / beam;
    for (int k = 1; k < beam; ++k)
      if (order[static_cast<size_t>(g * beam + k)] / beam != sentence[static_cast<size_t>(g)])
        throw std::logic_error("beam search: copies of a sentence are not adjacent");
    max_length[static_cast<size_t>(g)] =
        static_cast<int64_t>(
            std::ceil(options.max_length_factor *
                      model.decoding_source_lengths()[static_cast<size_t>(g * beam)])) +
        options.max_length_extra;
  }

  std::vector<std::vector<int32_t>> tokens(static_cast<size_t>(rows));
  std::vector<double> log_probability(static_cast<size_t>(rows), kDead);
  for (int64_t g = 0; g < groups; ++g)
    log_probability[static_cast<size_t>(g * beam)] = 0.0;  // one live beam
  std::vector<int32_t> previous(static_cast<size_t>(rows), data::kBosId);
  std::vector<bool> done(static_cast<size_t>(groups), false);
  std::vector<std::vector<Hypothesis>> finished(static_cast<size_t>(N));
  std::vector<float> logprobs(static_cast<size_t>(rows * V));
  std::vector<int64_t> parents(static_cast<size_t>(rows));
  std::vector<Candidate> candidates;
  std::vector<int32_t> best_tokens(static_cast<size_t>(V));

  for (int64_t step = 0; std::find(done.begin(), done.end(), false) != done.end(); ++step) {
    model.decode_step(previous.data(), logprobs.data());
    std::vector<std::vector<int32_t>> next_tokens(static_cast<size_t>(rows));
    std::vector<double> next_log_probability(static_cast<size_t>(rows), kDead);
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t first = g * beam;
      for (int k = 0; k < beam; ++k) parents[static_cast<size_t>(first + k)] = first + k;
      if (done[static_cast<size_t>(g)]) continue;
      // The best 2 x beam continuations of each live beam are enough to fill the new beam.
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
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const Candidate& a, const Candidate& b) {
                         return a.log_probability > b.log_probability;
                       });
      std::vector<Hypothesis>& ended =
          finished[static_cast<size_t>(sentence[static_cast<size_t>(g)])];
      int alive = 0;
      const bool last_step = step + 1 >= max_length[static_cast<size_t>(g)];
      for (const Candidate& candidate : candidates) {
        if (alive == beam) break;
        if (candidate.token == data::kEosId) {
          if (static_cast<int>(ended.size()) < beam)
            ended.push_back({tokens[static_cast<size_t>(candidate.parent)],
                             candidate.log_probability, 0.0, true});
          continue;
        }
        if (candidate.token < data::kFirstRegularId && candidate.token != data::kUnkId)
          continue;  // <pad>, <bos>
        const int64_t row = first + alive++;
        parents[static_cast<size_t>(row)] = candidate.parent;
        next_tokens[static_cast<size_t>(row)] = tokens[static_cast<size_t>(candidate.parent)];
        next_tokens[static_cast<size_t>(row)].push_back(candidate.token);
        next_log_probability[static_cast<size_t>(row)] = candidate.log_probability;
      }
      if (last_step) {  // out of length: the live beams end here, unfinished
        for (int k = 0; k < alive; ++k)
          ended.push_back({next_tokens[static_cast<size_t>(first + k)],
                           next_log_probability[static_cast<size_t>(first + k)], 0.0, false});
        alive = 0;
      }
      if (static_cast<int>(ended.size()) >= beam || alive == 0) {
        done[static_cast<size_t>(g)] = true;
        for (int k = 0; k < beam; ++k) next_log_probability[static_cast<size_t>(first + k)] = kDead;
      }
    }
    model.select_rows(parents);
    tokens = std::move(next_tokens);
    log_probability = std::move(next_log_probability);
    for (int64_t row = 0; row < rows; ++row)
      previous[static_cast<size_t>(row)] = tokens[static_cast<size_t>(row)].empty()
                                               ? data::kEosId
                                               : tokens[static_cast<size_t>(row)].back();
  }
  return finished;
}

}  // namespace

std::vector<std::vector<Hypothesis>> beam_search(Seq2SeqModel& model, const data::Batch& batch,
                                                 const BeamOptions& options) {
  require_config(options.beam_size >= 1, "beam", "must be at least 1");
  require_config(options.n_best >= 1 && options.n_best <= options.beam_size, "n-best",
                 "must be in [1, beam size]");
  require_config(options.length_penalty >= 0.0, "length-penalty", "must not be negative");
  require_config(options.max_length_factor > 0.0 && options.max_length_extra >= 0,
                 "max-length-factor", "must be positive");
  std::vector<std::vector<Hypothesis>> results = run_beam(model, batch, options.beam_size, options);
  if (options.beam_size > 1) {  // greedy's hypothesis competes too
    std::vector<std::vector<Hypothesis>> greedy = run_beam(model, batch, 1, options);
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
