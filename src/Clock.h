// CLOCK_MONOTONIC in milliseconds (the unit of SharedState's timestamps, for the master) and in
// microseconds (request durations, for the workers' metrics).
#pragma once

#include <time.h>

#include <cstdint>

namespace hs {

inline int64_t monotonicMs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

// CLOCK_MONOTONIC in microseconds: request durations for the metrics.
inline int64_t monotonicUs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace hs
