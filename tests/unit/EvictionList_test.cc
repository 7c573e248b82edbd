#include "EvictionList.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <list>
#include <random>
#include <utility>
#include <vector>

namespace hs {
namespace {

// The slots from oldest to newest, walking the links.
std::vector<uint32_t> order(const EvictionList& l) {
  std::vector<uint32_t> out;
  for (uint32_t s = l.front(); s != EvictionList::kNone; s = l.next(s)) out.push_back(s);
  return out;
}

TEST(EvictionListTest, EmptyListHasNoFront) {
  EvictionList l(4);
  EXPECT_EQ(l.front(), EvictionList::kNone);
  EXPECT_EQ(l.size(), 0u);
  EXPECT_EQ(l.oldestSinceMs(), 0);
  EXPECT_EQ(l.capacity(), 4u);
  EXPECT_TRUE(l.verify());
}

TEST(EvictionListTest, KeepsInsertionOrderOldestFirst) {
  EvictionList l(8);
  const uint32_t slots[] = {5, 1, 7, 0, 3};
  for (int i = 0; i < 5; ++i) {
    l.pushBack(slots[i], 100 + i);
    ASSERT_TRUE(l.verify());
  }
  EXPECT_EQ(order(l), (std::vector<uint32_t>{5, 1, 7, 0, 3}));
  EXPECT_EQ(l.front(), 5u);
  EXPECT_EQ(l.oldestSinceMs(), 100);
  EXPECT_EQ(l.sinceMs(0), 103);
  EXPECT_TRUE(l.contains(7));
  EXPECT_FALSE(l.contains(2));
}

TEST(EvictionListTest, RemovesHeadMiddleTailAndAbsent) {
  struct Case {
    const char* name;
    uint32_t remove;
    std::vector<uint32_t> left;
  };
  const Case cases[] = {
      {"head", 0, {1, 2, 3}},
      {"middle", 2, {0, 1, 3}},
      {"tail", 3, {0, 1, 2}},
      {"absent: nothing happens", 6, {0, 1, 2, 3}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EvictionList l(8);
    for (uint32_t s = 0; s < 4; ++s) l.pushBack(s, s);
    l.remove(c.remove);
    EXPECT_TRUE(l.verify());
    EXPECT_FALSE(l.contains(c.remove));
    EXPECT_EQ(order(l), c.left);
    EXPECT_EQ(l.size(), c.left.size());
  }
}

TEST(EvictionListTest, RemovingTheLastEntryEmptiesTheList) {
  EvictionList l(2);
  l.pushBack(1, 10);
  l.remove(1);
  EXPECT_EQ(l.front(), EvictionList::kNone);
  EXPECT_EQ(l.oldestSinceMs(), 0);
  EXPECT_TRUE(l.verify());
  l.pushBack(1, 20);  // a removed slot can come back
  EXPECT_EQ(order(l), (std::vector<uint32_t>{1}));
}

TEST(EvictionListTest, MoveToBackRestampsAndReorders) {
  EvictionList l(4);
  for (uint32_t s = 0; s < 3; ++s) l.pushBack(s, 10 * s);
  l.moveToBack(0, 50);
  EXPECT_EQ(order(l), (std::vector<uint32_t>{1, 2, 0}));
  EXPECT_EQ(l.sinceMs(0), 50);
  EXPECT_EQ(l.oldestSinceMs(), 10);
  l.moveToBack(3, 60);  // not in the list yet: just appended
  EXPECT_EQ(order(l), (std::vector<uint32_t>{1, 2, 0, 3}));
  EXPECT_TRUE(l.verify());
}

// Random push/remove/moveToBack with a non-decreasing clock, checked after every step against a
// std::list of (slot, since) and the invariant checker.
TEST(EvictionListTest, RandomOperationsMatchReference) {
  constexpr uint32_t kSlots = 64;
  std::mt19937 rng(12345);
  EvictionList l(kSlots);
  std::list<std::pair<uint32_t, int64_t>> ref;
  auto find = [&](uint32_t s) {
    return std::find_if(ref.begin(), ref.end(), [s](const auto& e) { return e.first == s; });
  };
  int64_t now = 1;
  for (int step = 0; step < 20000; ++step) {
    now += static_cast<int64_t>(rng() % 3);
    uint32_t slot = static_cast<uint32_t>(rng() % kSlots);
    auto it = find(slot);
    switch (rng() % 3) {
      case 0:
        if (it == ref.end()) {
          l.pushBack(slot, now);
          ref.emplace_back(slot, now);
        }
        break;
      case 1:
        l.remove(slot);
        if (it != ref.end()) ref.erase(it);
        break;
      default:
        l.moveToBack(slot, now);
        if (it != ref.end()) ref.erase(it);
        ref.emplace_back(slot, now);
        break;
    }
    ASSERT_TRUE(l.verify()) << "step " << step;
    ASSERT_EQ(l.size(), ref.size());
    ASSERT_EQ(l.front(), ref.empty() ? EvictionList::kNone : ref.front().first);
    ASSERT_EQ(l.oldestSinceMs(), ref.empty() ? 0 : ref.front().second);
  }
  std::vector<uint32_t> expected;
  for (const auto& e : ref) expected.push_back(e.first);
  EXPECT_EQ(order(l), expected);
}

}  // namespace
}  // namespace hs
