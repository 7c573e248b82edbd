// Crash-loop back-off for one supervised process slot (a worker index, an application process):
// pure bookkeeping, no clock of its own. The supervisor that owns it asks onExit() how long to wait
// before the next start.
#pragma once

#include <cstdint>

namespace hs {

struct Backoff {
  static constexpr int64_t kFastFailureMs = 1000;  // an exit this soon after start is a failure
  static constexpr int kFreeFailures = 5;          // failures in a row before delays start
  static constexpr int64_t kMaxDelayMs = 30'000;

  int fastFailures = 0;     // consecutive fast failures
  int64_t respawnAtMs = 0;  // a delayed start is due then; 0: none pending
  uint32_t restarts = 0;    // replacements so far (shown on the status page)

  // Records an exit after `livedMs` of life; returns the delay before the next start (0: now):
  // 1 s after kFreeFailures fast failures in a row, doubling up to kMaxDelayMs.
  int64_t onExit(int64_t livedMs);
};

}  // namespace hs
