// Dropout: masks from an explicit key, scaled, shared by backward.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/dropout.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

TEST(Dropout, MaskIsSeededScaledAndSharedByBackward) {
  const int64_t n = 20000;
  const float p = 0.3f;
  const std::vector<float> x(n, 1.0f);
  std::vector<float> y(n), y_again(n), y_other_key(n), diff(n);
  ops::dropout_forward(x.data(), y.data(), n, p, 99);
  ops::dropout_forward(x.data(), y_again.data(), n, p, 99);
  ops::dropout_forward(x.data(), y_other_key.data(), n, p, 100);
  ops::dropout_backward(x.data(), diff.data(), n, p, 99);
  int64_t kept = 0, differ = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(y[i] == 0.0f || std::fabs(y[i] - 1.0f / (1.0f - p)) < 1e-6f);
    ASSERT_EQ(y[i], y_again[i]);
    ASSERT_EQ(y[i], diff[i]);  // backward applies the same mask
    kept += y[i] != 0.0f;
    differ += (y[i] != 0.0f) != (y_other_key[i] != 0.0f);
  }
  EXPECT_NEAR(static_cast<double>(kept) / n, 1.0 - p, 0.02);
  EXPECT_GT(differ, n / 10);
}

}  // namespace
}  // namespace tandem
