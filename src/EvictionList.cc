#include "EvictionList.h"

namespace hs {

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
