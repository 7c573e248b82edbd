// The worker's eviction order: pool slots (connections idle in keep-alive, reading a request, or
// stalled in a response) from the one waiting longest to the newest, each with the time it
// started waiting. An intrusive doubly linked list whose links live in an array indexed by slot,
// so push, remove and front are O(1) and nothing is allocated after construction. Pure code.
#pragma once

#include <cstdint>
#include <vector>

namespace hs {

class EvictionList {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Slots 0 .. capacity-1.
  explicit EvictionList(uint32_t capacity) : links_(capacity) {}

  // Appends `slot` (not in the list) as the newest, waiting since `sinceMs`.
  void pushBack(uint32_t slot, int64_t sinceMs) {
    Link& l = links_[slot];
    l.prev = tail_;
    l.next = kNone;
    l.sinceMs = sinceMs;
    l.linked = true;
    (tail_ != kNone ? links_[tail_].next : head_) = slot;
    tail_ = slot;
    ++size_;
  }
  // Takes `slot` out; nothing happens if it is not in the list.
  void remove(uint32_t slot) {
    Link& l = links_[slot];
    if (!l.linked) return;
    (l.prev != kNone ? links_[l.prev].next : head_) = l.next;
    (l.next != kNone ? links_[l.next].prev : tail_) = l.prev;
    l.prev = l.next = kNone;
    l.linked = false;
    --size_;
  }
  void moveToBack(uint32_t slot, int64_t sinceMs) {
    remove(slot);
    pushBack(slot, sinceMs);
  }

  bool contains(uint32_t slot) const { return links_[slot].linked; }
  uint32_t front() const { return head_; }                          // kNone when empty
  uint32_t next(uint32_t slot) const { return links_[slot].next; }  // kNone after the last
  int64_t sinceMs(uint32_t slot) const { return links_[slot].sinceMs; }
  int64_t oldestSinceMs() const { return head_ == kNone ? 0 : links_[head_].sinceMs; }  // 0: empty
  uint32_t size() const { return size_; }
  uint32_t capacity() const { return static_cast<uint32_t>(links_.size()); }

  // Checks the links (both directions agree, size matches, times never decrease); for tests.
  bool verify() const;

 private:
  struct Link {
    uint32_t prev = kNone;
    uint32_t next = kNone;
    int64_t sinceMs = 0;
    bool linked = false;
  };

  std::vector<Link> links_;
  uint32_t head_ = kNone;
  uint32_t tail_ = kNone;
  uint32_t size_ = 0;
};

}  // namespace hs
