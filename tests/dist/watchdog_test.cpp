// The collective watchdog's decisions: which ranks did not arrive at a stuck collective, from the
// heartbeats every rank writes; and that a watchdog whose rank never waits does nothing. (The
// whole path, a stopped rank ending a real job, is tests/apps/failure_test.sh.)
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "tests/test_utils.h"
#include "trainer/dist/watchdog.h"

namespace tandem {
namespace {

TEST(Watchdog, RanksThatEnteredFewerCollectivesAreNamedWithTheirStep) {
  // Rank 0 is stuck in its 12th collective; rank 2 is at its 11th, rank 3 never wrote.
  const std::vector<std::string> heartbeats = {"40 12 5000 10.0.0.1", "40 12 5001 10.0.0.2",
                                               "39 11 5002 10.0.0.3", ""};
  EXPECT_EQ(trainer::ranks_behind(heartbeats, 0, 12),
            "2 (last heard at step 39), 3 (last heard at step none)");
}

TEST(Watchdog, NoRankIsNamedWhenEveryRankArrived) {
  const std::vector<std::string> heartbeats = {"7 3 1 a", "7 3 2 b", "7 4 3 c"};
  EXPECT_EQ(trainer::ranks_behind(heartbeats, 1, 3), "");
}

TEST(Watchdog, ItsOwnHeartbeatIsNeverCounted) {
  EXPECT_EQ(trainer::ranks_behind({"", "5 9 1 a"}, 0, 9), "");
}

TEST(Watchdog, ShortCollectivesNeitherStopTheProcessNorBlockItsEnd) {
  testing::TempDir dir;
  {
    trainer::CollectiveWatchdog watchdog(0, 2, dir.path(), 1.0);
    watchdog.set_step(3);
    for (int i = 0; i < 5; ++i) {
      watchdog.enter("test");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      watchdog.leave();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // a heartbeat is written
  }
  std::ifstream heartbeat(dir.file("rank.0"));
  int64_t step = -1, collectives = -1;
  heartbeat >> step >> collectives;
  EXPECT_EQ(step, 3);
  EXPECT_EQ(collectives, 5);
}

}  // namespace
}  // namespace tandem
