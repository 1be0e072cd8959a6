// Agreement: what can differ between ranks (a missing file on one node, a rank-specific option,
// another vocabulary) becomes the same error on every rank at the same place, instead of a hang
// in the next collective or a silent divergence (Horovod's negotiation; docs/design.md, rule D3).
#pragma once

#include <string>
#include <vector>

#include "ops/errors.h"
#include "trainer/dist/mpi_world.h"

namespace tandem::trainer {

// Collective. Given every rank's failure text ("" for none, else 'C' for a ConfigError or 'E' for
// any other tandem::Error, followed by the message), throws the same error on every rank when
// any rank failed: a ConfigError if the first failing rank's was one, else DistributedError.
// With several ranks the message starts with "rank R: ".
void agree_on_failure(const MpiWorld& world, const std::string& failure);

// Runs `body` on every rank; a tandem::Error thrown on any rank is rethrown on every rank as
// agree_on_failure describes (a ConfigError stays a usage error). Collective.
template <typename Body>
void collective_try(const MpiWorld& world, Body&& body) {
  std::string failure;
  try {
    body();
  } catch (const ConfigError& error) {
    failure = std::string("C") + error.what();
  } catch (const Error& error) {
    failure = std::string("E") + error.what();
  }
  agree_on_failure(world, failure);
}

// Throws DistributedError with the same message on every rank if `text` is not identical on all
// ranks. For "key = value" lines the message names the first key that differs and each
// distinct value with its ranks, e.g. "ranks disagree on the configuration: hidden_size is 64 on
// rank 1 but 32 on rank 0". Collective.
void require_agreement(const MpiWorld& world, const std::string& what, const std::string& text);

}  // namespace tandem::trainer
