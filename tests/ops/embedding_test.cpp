// Embedding: gather forward, scatter-add backward (no gradient for <pad>), id errors.
#include <gtest/gtest.h>

#include <vector>

#include "ops/embedding.h"
#include "tests/test_utils.h"

namespace tandem {
namespace {

TEST(Embedding, ForwardGathersAndBackwardScatterAddsExceptPad) {
  ops::ParamStore store;
  ops::Embedding embedding(store, "embedding", 6, 2);
  store.initialize(1);
  const float* table = store.view(embedding.table()).value;
  const std::vector<int32_t> ids{3, 0, 3, 5};
  std::vector<float> out(4 * 2);
  embedding.forward(ids.data(), 4, out.data(), 2);
  for (int m = 0; m < 4; ++m)
    for (int e = 0; e < 2; ++e) EXPECT_EQ(out[m * 2 + e], table[ids[m] * 2 + e]);
  store.zero_grads();
  const std::vector<float> diff{1, 2, 10, 20, 100, 200, 1000, 2000};
  embedding.backward(ids.data(), 4, diff.data(), 2);
  const float* grad = store.view(embedding.table()).grad;
  EXPECT_EQ(grad[3 * 2 + 0], 101.0f);  // id 3 twice: accumulated
  EXPECT_EQ(grad[3 * 2 + 1], 202.0f);
  EXPECT_EQ(grad[5 * 2 + 0], 1000.0f);
  EXPECT_EQ(grad[0], 0.0f);  // <pad> gets no gradient
  EXPECT_EQ(grad[1], 0.0f);
}

TEST(Embedding, OutOfRangeIdThrowsNamingIt) {
  ops::ParamStore store;
  ops::Embedding embedding(store, "embedding", 6, 2);
  store.finalize();
  const std::vector<int32_t> ids{1, 6};
  std::vector<float> out(4);
  try {
    embedding.forward(ids.data(), 2, out.data(), 2);
    FAIL() << "no error";
  } catch (const std::out_of_range& error) {
    EXPECT_NE(std::string(error.what()).find("6"), std::string::npos) << error.what();
  }
}

}  // namespace
}  // namespace tandem
