// The master's clock: CLOCK_MONOTONIC in milliseconds, the unit of SharedState's timestamps.
#pragma once

#include <time.h>

#include <cstdint>

namespace hs {

inline int64_t monotonicMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace hs
