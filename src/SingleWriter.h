// Counters in shared memory that exactly one process writes (a worker its own slot, the master its
// own fields): a relaxed load and store is enough, with no locked instruction on the hot path, and
// readers in other processes see each value whole.
#pragma once

#include <atomic>

namespace hs {

template <typename T>
inline void bump(std::atomic<T>& a, T by = 1) {
  a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
}

template <typename T>
inline void drop(std::atomic<T>& a, T by = 1) {
  a.store(a.load(std::memory_order_relaxed) - by, std::memory_order_relaxed);
}

}  // namespace hs
