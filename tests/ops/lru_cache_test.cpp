// The bounded primitive cache: forgets the least recently used entry, never a used one.
#include <gtest/gtest.h>

#include <string>

#include "ops/lru_cache.h"

namespace tandem {
namespace {

TEST(LruCache, FindsWhatWasInsertedAndMissesWhatWasNot) {
  ops::LruCache<std::string, int> cache(2);
  cache.insert("a", 1);
  ASSERT_NE(cache.find("a"), nullptr);
  EXPECT_EQ(*cache.find("a"), 1);
  EXPECT_EQ(cache.find("b"), nullptr);
}

TEST(LruCache, WhenFullForgetsTheLeastRecentlyUsedEntry) {
  ops::LruCache<std::string, int> cache(2);
  cache.insert("a", 1);
  cache.insert("b", 2);
  ASSERT_NE(cache.find("a"), nullptr);  // "a" is now more recent than "b"
  cache.insert("c", 3);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.find("b"), nullptr);
  ASSERT_NE(cache.find("a"), nullptr);
  ASSERT_NE(cache.find("c"), nullptr);
  EXPECT_EQ(*cache.find("a"), 1);
  EXPECT_EQ(*cache.find("c"), 3);
}

TEST(LruCache, InsertReturnsTheStoredValueAndPointersSurviveOtherInserts) {
  ops::LruCache<int, std::string> cache(3);
  std::string& first = cache.insert(1, "one");
  cache.insert(2, "two");
  cache.insert(3, "three");  // full: nothing evicted yet
  EXPECT_EQ(first, "one");
  EXPECT_EQ(&first, cache.find(1));
  cache.insert(4, "four");  // evicts 2, the least recently used
  EXPECT_EQ(cache.find(2), nullptr);
  EXPECT_EQ(first, "one");
}

}  // namespace
}  // namespace tandem
