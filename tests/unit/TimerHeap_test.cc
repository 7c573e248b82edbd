#include "TimerHeap.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <utility>
#include <vector>

namespace hs {
namespace {

// Pops everything expired at `nowMs` and returns the deadlines in pop order.
std::vector<int64_t> drain(TimerHeap& heap, int64_t nowMs) {
  std::vector<int64_t> out;
  while (TimerNode* n = heap.popExpired(nowMs)) {
    EXPECT_FALSE(n->active());
    out.push_back(n->deadlineMs);
  }
  return out;
}

TEST(TimerHeapTest, PopsInDeadlineOrder) {
  TimerHeap heap(16);
  TimerNode nodes[8];
  const int64_t deadlines[8] = {50, 10, 70, 30, 20, 80, 40, 60};
  for (int i = 0; i < 8; ++i) {
    heap.schedule(&nodes[i], deadlines[i]);
    ASSERT_TRUE(heap.verify());
    EXPECT_TRUE(nodes[i].active());
  }
  EXPECT_EQ(heap.size(), 8u);
  ASSERT_NE(heap.top(), nullptr);
  EXPECT_EQ(heap.top()->deadlineMs, 10);
  EXPECT_EQ(heap.popExpired(9), nullptr);
  EXPECT_EQ(drain(heap, 45), (std::vector<int64_t>{10, 20, 30, 40}));
  EXPECT_EQ(drain(heap, 1000), (std::vector<int64_t>{50, 60, 70, 80}));
  EXPECT_TRUE(heap.empty());
  EXPECT_EQ(heap.top(), nullptr);
  EXPECT_EQ(heap.popExpired(1000), nullptr);
}

TEST(TimerHeapTest, PopsDeadlineEqualToNow) {
  TimerHeap heap(4);
  TimerNode a;
  heap.schedule(&a, 100);
  EXPECT_EQ(heap.popExpired(99), nullptr);
  EXPECT_EQ(heap.popExpired(100), &a);
  EXPECT_EQ(a.index, -1);
}

TEST(TimerHeapTest, CancelsFromTheMiddle) {
  TimerHeap heap(16);
  TimerNode nodes[10];
  for (int i = 0; i < 10; ++i) heap.schedule(&nodes[i], (i + 1) * 10);
  heap.cancel(&nodes[4]);  // deadline 50, an interior entry
  EXPECT_FALSE(nodes[4].active());
  ASSERT_TRUE(heap.verify());
  heap.cancel(&nodes[0]);  // the top
  ASSERT_TRUE(heap.verify());
  heap.cancel(&nodes[9]);  // probably the last entry
  ASSERT_TRUE(heap.verify());
  EXPECT_EQ(heap.size(), 7u);
  EXPECT_EQ(drain(heap, 1000), (std::vector<int64_t>{20, 30, 40, 60, 70, 80, 90}));
}

// Removing an entry whose replacement (the last leaf) is smaller than the hole's parent needs a
// sift up, not down. Deadlines laid out so the last leaf lives in the other subtree.
TEST(TimerHeapTest, CancelSiftsReplacementUp) {
  TimerHeap heap(16);
  TimerNode nodes[7];
  const int64_t deadlines[7] = {0, 100, 1, 101, 102, 2, 3};
  for (int i = 0; i < 7; ++i) heap.schedule(&nodes[i], deadlines[i]);
  ASSERT_EQ(nodes[3].index, 3);  // child of 100, whose last leaf (3) is in the other subtree
  heap.cancel(&nodes[3]);
  ASSERT_TRUE(heap.verify());
  EXPECT_EQ(drain(heap, 1000), (std::vector<int64_t>{0, 1, 2, 3, 100, 102}));
}

TEST(TimerHeapTest, ReschedulesEarlierAndLater) {
  TimerHeap heap(16);
  TimerNode a, b, c, d;
  heap.schedule(&a, 10);
  heap.schedule(&b, 20);
  heap.schedule(&c, 30);
  heap.schedule(&d, 40);
  heap.schedule(&d, 5);  // earlier: becomes the top
  ASSERT_TRUE(heap.verify());
  EXPECT_EQ(heap.top(), &d);
  heap.schedule(&a, 35);  // later
  ASSERT_TRUE(heap.verify());
  heap.schedule(&b, 20);  // unchanged
  ASSERT_TRUE(heap.verify());
  EXPECT_EQ(heap.size(), 4u);
  EXPECT_EQ(heap.popExpired(100), &d);
  EXPECT_EQ(heap.popExpired(100), &b);
  EXPECT_EQ(heap.popExpired(100), &c);
  EXPECT_EQ(heap.popExpired(100), &a);
  EXPECT_TRUE(heap.empty());
}

TEST(TimerHeapTest, CancelOfInactiveNodeIsNoOp) {
  TimerHeap heap(4);
  TimerNode a, b;
  heap.schedule(&a, 10);
  heap.cancel(&b);
  EXPECT_EQ(heap.size(), 1u);
  heap.cancel(&a);
  heap.cancel(&a);
  EXPECT_TRUE(heap.empty());
  EXPECT_FALSE(a.active());
  heap.schedule(&a, 7);  // a cancelled node can be scheduled again
  EXPECT_EQ(heap.top(), &a);
  EXPECT_TRUE(heap.verify());
}

TEST(TimerHeapTest, KeepsOwnerField) {
  TimerHeap heap(4);
  TimerNode a;
  a.owner = 42;
  heap.schedule(&a, 1);
  TimerNode* n = heap.popExpired(1);
  ASSERT_EQ(n, &a);
  EXPECT_EQ(n->owner, 42u);
}

TEST(TimerHeapTest, GrowsPastCapacity) {
  TimerHeap heap(2);
  TimerNode nodes[5];
  for (int i = 0; i < 5; ++i) heap.schedule(&nodes[i], 5 - i);
  ASSERT_TRUE(heap.verify());
  EXPECT_EQ(drain(heap, 10), (std::vector<int64_t>{1, 2, 3, 4, 5}));
}

// Random schedule/cancel/reschedule/pop against an ordered reference, checking the invariants
// after every step. Deadlines come from a small range so that ties are common.
TEST(TimerHeapTest, MatchesReferenceUnderRandomOperations) {
  constexpr int kNodes = 500;
  TimerHeap heap(kNodes);
  std::vector<TimerNode> nodes(kNodes);
  std::multiset<std::pair<int64_t, int>> ref;  // (deadline, node id) of the active nodes
  std::mt19937 rng(20240601);
  int pops = 0;
  for (int step = 0; step < 10000; ++step) {
    int id = static_cast<int>(rng() % kNodes);
    TimerNode* n = &nodes[static_cast<size_t>(id)];
    int64_t deadline = static_cast<int64_t>(rng() % 1000);
    switch (rng() % 4) {
      case 0:  // schedule, or reschedule if already in
      case 1:
        if (n->active()) ref.erase(ref.find({n->deadlineMs, id}));
        heap.schedule(n, deadline);
        ref.insert({deadline, id});
        break;
      case 2:
        if (n->active()) ref.erase(ref.find({n->deadlineMs, id}));
        heap.cancel(n);
        break;
      default: {
        TimerNode* popped = heap.popExpired(deadline);
        if (ref.empty() || ref.begin()->first > deadline) {
          ASSERT_EQ(popped, nullptr) << "step " << step;
          break;
        }
        ASSERT_NE(popped, nullptr) << "step " << step;
        ASSERT_EQ(popped->deadlineMs, ref.begin()->first) << "step " << step;
        int poppedId = static_cast<int>(popped - nodes.data());
        auto it = ref.find({popped->deadlineMs, poppedId});
        ASSERT_NE(it, ref.end()) << "step " << step;
        ref.erase(it);
        EXPECT_FALSE(popped->active());
        ++pops;
      }
    }
    ASSERT_TRUE(heap.verify()) << "step " << step;
    ASSERT_EQ(heap.size(), ref.size()) << "step " << step;
    if (!ref.empty()) {
      ASSERT_EQ(heap.top()->deadlineMs, ref.begin()->first) << "step " << step;
    }
  }
  EXPECT_GT(pops, 1000);
  for (int i = 0; i < kNodes; ++i) {
    const TimerNode& n = nodes[static_cast<size_t>(i)];
    EXPECT_EQ(n.active(), ref.count({n.deadlineMs, i}) == 1) << "node " << i;
  }
}

}  // namespace
}  // namespace hs
