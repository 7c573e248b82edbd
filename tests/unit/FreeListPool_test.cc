#include "FreeListPool.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace hs {
namespace {

struct Item {
  int value = 0;
};

TEST(FreeListPoolTest, GrowsUpToLimitThenReturnsNull) {
  FreeListPool<Item> pool(4);
  EXPECT_EQ(pool.allocated(), 0u);  // lazily grown
  std::set<Item*> seen;
  for (size_t i = 0; i < 4; ++i) {
    Item* it = pool.acquire();
    ASSERT_NE(it, nullptr);
    seen.insert(it);
    EXPECT_EQ(pool.allocated(), i + 1);
    EXPECT_EQ(pool.idle(), 0u);
  }
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(pool.acquire(), nullptr);
  EXPECT_EQ(pool.allocated(), 4u);
}

TEST(FreeListPoolTest, ReusesReleasedObjectsLifoWithoutAllocating) {
  FreeListPool<Item> pool(4);
  Item* a = pool.acquire();
  Item* b = pool.acquire();
  ASSERT_NE(b, nullptr);
  pool.release(a);
  pool.release(b);
  EXPECT_EQ(pool.idle(), 2u);
  EXPECT_EQ(pool.acquire(), b);  // most recently released first
  EXPECT_EQ(pool.acquire(), a);
  EXPECT_EQ(pool.allocated(), 2u);
  EXPECT_EQ(pool.idle(), 0u);
}

TEST(FreeListPoolTest, SteadyChurnKeepsAllocatedConstant) {
  FreeListPool<Item> pool(8);
  std::vector<Item*> held;
  for (int i = 0; i < 3; ++i) held.push_back(pool.acquire());
  for (Item* it : held) pool.release(it);
  held.clear();
  const size_t allocated = pool.allocated();
  ASSERT_EQ(allocated, 3u);
  for (int round = 0; round < 10'000; ++round) {
    for (int i = 0; i < 3; ++i) held.push_back(pool.acquire());
    for (Item* it : held) {
      ASSERT_NE(it, nullptr);
      pool.release(it);
    }
    held.clear();
  }
  EXPECT_EQ(pool.allocated(), allocated);
  EXPECT_EQ(pool.idle(), allocated);
}

TEST(FreeListPoolTest, ZeroLimitNeverAllocates) {
  FreeListPool<Item> pool(0);
  EXPECT_EQ(pool.acquire(), nullptr);
  EXPECT_EQ(pool.allocated(), 0u);
}

}  // namespace
}  // namespace hs
