#include "Backoff.h"

#include <algorithm>

namespace hs {

int64_t Backoff::onExit(int64_t livedMs) {
  fastFailures = livedMs < kFastFailureMs ? fastFailures + 1 : 0;
  ++restarts;
  if (fastFailures < kFreeFailures) return 0;
  int doublings = std::min(fastFailures - kFreeFailures, 5);
  return std::min<int64_t>(int64_t{1000} << doublings, kMaxDelayMs);
}

}  // namespace hs
