#include "SlotPool.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace hs {
namespace {

struct Item {
  int value = 0;
};

TEST(SlotPoolTest, HandsOutCapacityDistinctSlotsThenNull) {
  SlotPool<Item> pool(8);
  EXPECT_EQ(pool.capacity(), 8u);
  EXPECT_EQ(pool.inUse(), 0u);
  std::set<Item*> seen;
  std::set<uint32_t> indexes;
  for (uint32_t i = 0; i < 8; ++i) {
    Item* it = pool.acquire();
    ASSERT_NE(it, nullptr);
    seen.insert(it);
    indexes.insert(pool.index(it));
    EXPECT_EQ(&pool.at(pool.index(it)), it);
    EXPECT_EQ(pool.inUse(), i + 1);
  }
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(indexes, (std::set<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(pool.acquire(), nullptr);
  EXPECT_EQ(pool.acquire(), nullptr);
  EXPECT_EQ(pool.inUse(), 8u);
}

TEST(SlotPoolTest, FirstAcquireIsSlotZero) {
  SlotPool<Item> pool(4);
  Item* a = pool.acquire();
  Item* b = pool.acquire();
  EXPECT_EQ(pool.index(a), 0u);
  EXPECT_EQ(pool.index(b), 1u);
}

TEST(SlotPoolTest, ReleasedSlotIsReusedFirstAndKeepsItsState) {
  SlotPool<Item> pool(3);
  Item* a = pool.acquire();
  Item* b = pool.acquire();
  Item* c = pool.acquire();
  ASSERT_NE(c, nullptr);
  b->value = 42;
  pool.release(b);
  EXPECT_EQ(pool.inUse(), 2u);
  Item* again = pool.acquire();
  EXPECT_EQ(again, b);          // same object, never moved
  EXPECT_EQ(again->value, 42);  // the pool does not reset objects: the owner does
  EXPECT_EQ(pool.acquire(), nullptr);
  pool.release(a);
  pool.release(again);
  pool.release(c);
  EXPECT_EQ(pool.inUse(), 0u);
}

TEST(SlotPoolTest, ChurnNeverExceedsCapacity) {
  SlotPool<Item> pool(16);
  std::vector<Item*> held;
  for (int round = 0; round < 1000; ++round) {
    if (round % 3 != 2) {
      Item* it = pool.acquire();
      if (held.size() == 16) {
        EXPECT_EQ(it, nullptr);
      } else {
        ASSERT_NE(it, nullptr);
        held.push_back(it);
      }
    } else if (!held.empty()) {
      pool.release(held.back());
      held.pop_back();
    }
    ASSERT_EQ(pool.inUse(), held.size());
  }
}

}  // namespace
}  // namespace hs
