// Test helpers: deterministic random tensors, a central finite-difference gradient checker that
// reports the first mismatching index, and element-wise comparisons with both values printed.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "ops/rng.h"

namespace tandem::testing {

inline std::vector<float> random_values(size_t count, uint64_t seed, float scale = 1.0f) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) values[i] = scale * (2.0f * ops::uniform01(seed, i) - 1.0f);
  return values;
}

inline void fill_random(float* data, size_t count, uint64_t seed, float scale = 1.0f) {
  for (size_t i = 0; i < count; ++i) data[i] = scale * (2.0f * ops::uniform01(seed, i) - 1.0f);
}

// sum_i weights[i] * values[i] in double: a scalar "loss" whose gradient wrt values is weights.
inline double weighted_sum(const float* values, const std::vector<float>& weights) {
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) sum += static_cast<double>(weights[i]) * values[i];
  return sum;
}

struct GradientCheck {
  double epsilon = 1e-2;  // perturbation
  double relative_tolerance = 1e-2;
  double absolute_tolerance = 1e-3;
  size_t max_checks = 64;  // checked indices, spread over the tensor
};

// Compares analytic[i] with (loss(x_i + e) - loss(x_i - e)) / 2e for up to max_checks indices i
// of x (modified and restored in place). `changed` is called after every modification (e.g. to
// bump a ParamStore version). Fails the test at the first mismatch, naming `what` and i.
inline void expect_gradient_matches(const std::string& what, float* x, const float* analytic,
                                    size_t count, const std::function<double()>& loss,
                                    const GradientCheck& check = {},
                                    const std::function<void()>& changed = {}) {
  const size_t stride = std::max<size_t>(1, count / check.max_checks);
  size_t checked = 0;
  for (size_t i = (count > check.max_checks ? 7 % stride : 0); i < count; i += stride) {
    const float original = x[i];
    x[i] = static_cast<float>(original + check.epsilon);
    if (changed) changed();
    const double plus = loss();
    x[i] = static_cast<float>(original - check.epsilon);
    if (changed) changed();
    const double minus = loss();
    x[i] = original;
    if (changed) changed();
    const double numeric = (plus - minus) / (2.0 * check.epsilon);
    const double a = analytic[i];
    const double allowed = check.absolute_tolerance +
                           check.relative_tolerance * std::max(std::fabs(a), std::fabs(numeric));
    ASSERT_LE(std::fabs(a - numeric), allowed)
        << what << "[" << i << "]: analytic " << a << " vs finite difference " << numeric;
    ++checked;
  }
  ASSERT_GT(checked, 0u) << what << ": nothing checked";
}

// Element-wise |a - b| <= tolerance * max(1, |a|, |b|), reporting the first mismatch.
inline void expect_near_all(const std::string& what, const float* a, const float* b, size_t count,
                            double tolerance) {
  for (size_t i = 0; i < count; ++i) {
    const double scale =
        std::max({1.0, std::fabs(static_cast<double>(a[i])), std::fabs(static_cast<double>(b[i]))});
    ASSERT_LE(std::fabs(static_cast<double>(a[i]) - b[i]), tolerance * scale)
        << what << "[" << i << "]: " << a[i] << " vs " << b[i];
  }
}

// A fresh directory under /tmp, removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "tandem_test_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_text(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

// Runs `body` and returns the message of the exception of type E it throws (fails if none).
template <typename E, typename F>
std::string error_message(F&& body) {
  try {
    body();
  } catch (const E& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

}  // namespace tandem::testing
