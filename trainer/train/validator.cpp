#include "trainer/train/validator.h"

#include <cmath>
#include <cstdio>

#include "trainer/dist/agreement.h"
#include "trainer/dist/exact_sum.h"
#include "trainer/train/clock.h"

namespace tandem::trainer {
namespace {

// Validation loss per target token over the split (each rank its share, then summed).
std::pair<double, int64_t> validation_loss(const MpiWorld& world, Seq2SeqModel& model,
                                           data::BatchLoader& loader) {
  std::vector<double> totals{0.0, 0.0};
  collective_try(world, [&] {
    loader.start_epoch(0);
    while (auto batch = loader.next()) {
      const ops::LossSum loss = model.evaluate(*batch);
      totals[0] += loss.loss;
      totals[1] += static_cast<double>(loss.tokens);
    }
  });
  world.sum(totals);
  return {totals[1] > 0 ? totals[0] / totals[1] : 0.0, static_cast<int64_t>(totals[1])};
}

// --deterministic: every rank reads the split's one global plan and evaluates batches rank,
// rank + ranks, ...; the losses are summed exactly, so the value does not depend on the rank
// count. (A non-finite loss makes the value NaN, as in the float sum.)
std::pair<double, int64_t> exact_validation_loss(const MpiWorld& world, Seq2SeqModel& model,
                                                 data::BatchLoader& loader) {
  ExactSum sum(&world, 0, 1);
  sum.begin_step();
  collective_try(world, [&] {
    loader.start_epoch(0);
    for (int64_t index = 0; auto batch = loader.next(); ++index)
      if (index % world.size() == world.rank()) {
        const ops::LossSum loss = model.evaluate(*batch);
        sum.add_totals(loss.loss, loss.tokens);
      }
  });
  const ExactSum::Result result = sum.finish(nullptr);
  const StepTotals& totals = result.totals;
  const double loss = result.non_finite   ? std::nan("")
                      : totals.tokens > 0 ? totals.loss / static_cast<double>(totals.tokens)
                                          : 0.0;
  return {loss, totals.tokens};
}

}  // namespace

Validator::Validator(const MpiWorld& world, const data::Corpus& corpus, data::LoaderOptions options,
                     const TrainConfig& config)
    : world_(world), config_(config) {
  options.shuffle = false;
  collective_try(world, [&] {
    if (corpus.manifest().examples("valid") > 0) loader_.emplace(corpus, "valid", options);
  });
  collective_try(world, [&] {
    if (!config.valid_decode && config.valid_metric == ValidMetric::kLoss) return;
    require_config(loader_.has_value(), config.valid_decode ? "valid-decode" : "valid-metric",
                   "the corpus has no validation split to decode");
    decoder_.emplace(corpus, config.valid_beam, 32);
  });
}

bool Validator::run(Seq2SeqModel& model, LrSchedule& schedule, MetricsLog& log, int64_t step,
                    int64_t epoch) {
  const auto [loss, tokens] = config_.deterministic ? exact_validation_loss(world_, model, *loader_)
                                                    : validation_loss(world_, model, *loader_);
  nlohmann::json record = {{"type", "valid"}, {"step", step},          {"epoch", epoch},
                           {"loss", loss},    {"ppl", std::exp(loss)}, {"tokens", tokens}};
  char line[300];
  int used = std::snprintf(
      line, sizeof line, "validation step %lld | epoch %lld | loss %.4f | ppl %.3f",
      static_cast<long long>(step), static_cast<long long>(epoch), loss, std::exp(loss));
  // The schedule keeps the lowest value as the best: scores where higher is better enter negated.
  double observed = loss;
  if (decoder_) {
    const auto start = std::chrono::steady_clock::now();
    std::string share;
    collective_try(world_,
                   [&] { share = decoder_->decode_share(world_.rank(), world_.size(), model); });
    const ValidationScores scores = decoder_->score(world_, share);
    const double seconds = seconds_since(start);
    used += std::snprintf(line + used, sizeof line - static_cast<size_t>(used),
                          " | wer %.2f | per %.2f | bleu %.2f | chrf %.2f | decoded %lld in %.1f s",
                          scores.wer, scores.per, scores.bleu, scores.chrf,
                          static_cast<long long>(scores.sentences), seconds);
    record.update({{"wer", scores.wer},
                   {"per", scores.per},
                   {"bleu", scores.bleu},
                   {"chrf", scores.chrf},
                   {"decoded", scores.sentences},
                   {"decode_seconds", seconds}});
    if (config_.valid_metric != ValidMetric::kLoss) {
      observed = scores.value(config_.valid_metric);
      if (higher_is_better(config_.valid_metric)) observed = -observed;
    }
  }
  const bool best = schedule.observe_validation(observed);
  record["best"] = best;
  record["metric"] = kValidMetricNames.name(config_.valid_metric);
  log.say(std::string(line) + (best ? " | best" : ""));
  log.write(record);
  return best;
}

}  // namespace tandem::trainer
