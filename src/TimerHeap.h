// Binary min-heap of deadlines. Each timed object embeds a TimerNode, which stores its position in
// the heap, so add/update/remove are O(log n). The heap does not own the nodes. Pure code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hs {

struct TimerNode {
  int64_t deadlineMs = 0;
  int32_t index = -1;  // position in the heap, -1 when not in it
  uint32_t owner = 0;  // free for the user (e.g. a connection's pool slot)
  bool active() const { return index >= 0; }
};

class TimerHeap {
 public:
  // Reserves room for `capacity` nodes, so add() never allocates below it.
  explicit TimerHeap(size_t capacity);

  // Inserts `n` with `deadlineMs`, or moves it there if it is already in the heap.
  void schedule(TimerNode* n, int64_t deadlineMs);
  // Removes `n` if it is in the heap (no-op otherwise).
  void cancel(TimerNode* n);
  // Earliest node, or nullptr when empty.
  TimerNode* top() const { return heap_.empty() ? nullptr : heap_[0]; }
  // Removes and returns the earliest node whose deadline is <= nowMs, or nullptr.
  TimerNode* popExpired(int64_t nowMs);

  size_t size() const { return heap_.size(); }
  bool empty() const { return heap_.empty(); }
  // Checks the heap property and every node's index (for tests).
  bool verify() const;

 private:
  void siftUp(size_t i);
  void siftDown(size_t i);
  void place(size_t i, TimerNode* n);
  std::vector<TimerNode*> heap_;
};

}  // namespace hs
