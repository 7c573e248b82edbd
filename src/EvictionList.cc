#include "EvictionList.h"

namespace hs {

void EvictionList::pushBack(uint32_t slot, int64_t sinceMs) {
  Link& l = links_[slot];
  l.prev = tail_;
  l.next = kNone;
  l.sinceMs = sinceMs;
  l.linked = true;
  if (tail_ != kNone) {
    links_[tail_].next = slot;
  } else {
    head_ = slot;
  }
  tail_ = slot;
  ++size_;
}

void EvictionList::remove(uint32_t slot) {
  Link& l = links_[slot];
  if (!l.linked) return;
  if (l.prev != kNone) {
    links_[l.prev].next = l.next;
  } else {
    head_ = l.next;
  }
  if (l.next != kNone) {
    links_[l.next].prev = l.prev;
  } else {
    tail_ = l.prev;
  }
  l.prev = l.next = kNone;
  l.linked = false;
  --size_;
}

bool EvictionList::verify() const {
  uint32_t count = 0;
  uint32_t prev = kNone;
  for (uint32_t s = head_; s != kNone; s = links_[s].next) {
    if (s >= links_.size() || !links_[s].linked || links_[s].prev != prev) return false;
    if (prev != kNone && links_[prev].sinceMs > links_[s].sinceMs) return false;
    if (++count > links_.size()) return false;  // a cycle
    prev = s;
  }
  if (prev != tail_ || count != size_) return false;
  uint32_t linked = 0;
  for (const Link& l : links_) linked += l.linked ? 1 : 0;
  return linked == size_;
}

}  // namespace hs
