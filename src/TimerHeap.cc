#include "TimerHeap.h"

namespace hs {

TimerHeap::TimerHeap(size_t capacity) { heap_.reserve(capacity); }

void TimerHeap::schedule(TimerNode* n, int64_t deadlineMs) {
  if (n->active()) {
    int64_t old = n->deadlineMs;
    n->deadlineMs = deadlineMs;
    size_t i = static_cast<size_t>(n->index);
    if (deadlineMs < old) {
      siftUp(i);
    } else {
      siftDown(i);
    }
    return;
  }
  n->deadlineMs = deadlineMs;
  heap_.push_back(n);
  n->index = static_cast<int32_t>(heap_.size() - 1);
  siftUp(heap_.size() - 1);
}

void TimerHeap::cancel(TimerNode* n) {
  if (!n->active()) return;
  size_t i = static_cast<size_t>(n->index);
  TimerNode* last = heap_.back();
  heap_.pop_back();
  n->index = -1;
  if (i == heap_.size()) return;  // n was the last entry
  // The moved entry may belong above or below the hole, depending on which subtree it came from.
  place(i, last);
  if (i > 0 && last->deadlineMs < heap_[(i - 1) / 2]->deadlineMs) {
    siftUp(i);
  } else {
    siftDown(i);
  }
}

TimerNode* TimerHeap::popExpired(int64_t nowMs) {
  TimerNode* n = top();
  if (n == nullptr || n->deadlineMs > nowMs) return nullptr;
  cancel(n);
  return n;
}

bool TimerHeap::verify() const {
  for (size_t i = 0; i < heap_.size(); ++i) {
    if (heap_[i] == nullptr || heap_[i]->index != static_cast<int32_t>(i)) return false;
    if (i > 0 && heap_[i]->deadlineMs < heap_[(i - 1) / 2]->deadlineMs) return false;
  }
  return true;
}

// Both sifts move a hole instead of swapping, so each step writes one entry and its index.
void TimerHeap::siftUp(size_t i) {
  TimerNode* n = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadlineMs <= n->deadlineMs) break;
    place(i, heap_[parent]);
    i = parent;
  }
  place(i, n);
}

void TimerHeap::siftDown(size_t i) {
  TimerNode* n = heap_[i];
  size_t size = heap_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= size) break;
    if (child + 1 < size && heap_[child + 1]->deadlineMs < heap_[child]->deadlineMs) ++child;
    if (n->deadlineMs <= heap_[child]->deadlineMs) break;
    place(i, heap_[child]);
    i = child;
  }
  place(i, n);
}

void TimerHeap::place(size_t i, TimerNode* n) {
  heap_[i] = n;
  n->index = static_cast<int32_t>(i);
}

}  // namespace hs
