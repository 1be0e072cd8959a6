#include "trainer/dist/layout_advice.h"

#include <gtest/gtest.h>

namespace tandem::trainer {
namespace {

TEST(LayoutAdvice, TwoSingleThreadRanksOnTwoCpusAreToldToUseOneRankWithTwoThreads) {
  const std::string advice = layout_advice(2, 1, {2, 1});
  EXPECT_NE(advice.find("2 ranks x 1 thread(s) share this node's 2 CPUs"), std::string::npos);
  EXPECT_NE(advice.find("mpirun --map-by ppr:1:socket:PE=2 --bind-to core"), std::string::npos);
  EXPECT_NE(advice.find("sbatch --ntasks-per-node=1 --cpus-per-task=2"), std::string::npos);
}

TEST(LayoutAdvice, ManyRanksOnATwoSocketNodeAreToldOneRankPerSocket) {
  const std::string advice = layout_advice(8, 4, {64, 2});
  EXPECT_NE(advice.find("ppr:1:socket:PE=32"), std::string::npos) << advice;
  EXPECT_NE(advice.find("--ntasks-per-node=2 --cpus-per-task=32"), std::string::npos) << advice;
}

TEST(LayoutAdvice, NoAdviceForOneRankPerSocketOrRanksThatUseTheirSocket) {
  EXPECT_EQ(layout_advice(1, 1, {2, 1}), "");    // one rank
  EXPECT_EQ(layout_advice(2, 16, {32, 2}), "");  // one rank per socket already
  EXPECT_EQ(layout_advice(2, 1, {1, 1}), "");    // oversubscribed: threads fill the socket
}

TEST(LayoutAdvice, ThisNodeHasAtLeastOneCpuAndSocket) {
  const NodeShape node = this_node();
  EXPECT_GE(node.cpus, 1);
  EXPECT_GE(node.sockets, 1);
  EXPECT_LE(node.sockets, node.cpus);
}

}  // namespace
}  // namespace tandem::trainer
