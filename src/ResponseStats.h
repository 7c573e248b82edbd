// Per-worker response counters for the metrics endpoint: responses by status class, bytes sent and
// a request-duration histogram with fixed buckets. One ResponseStats per SharedState slot; its
// worker is the only writer (relaxed load+store, no locks), and nothing ever resets it, so a slot's
// next worker adds to what the last one left and the sums a scrape takes only grow.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>

namespace hs {

// Upper bounds of the request-duration buckets in microseconds (100 us .. 10 s); a last bucket
// (+Inf) takes everything above.
inline constexpr uint64_t kDurationBoundsUs[] = {
    100,    250,     500,     1'000,   2'500,     5'000,     10'000,    25'000,
    50'000, 100'000, 250'000, 500'000, 1'000'000, 2'500'000, 5'000'000, 10'000'000};
inline constexpr size_t kDurationBuckets = std::size(kDurationBoundsUs) + 1;

// Status classes 1xx..5xx.
inline constexpr int kStatusClasses = 5;

struct alignas(64) ResponseStats {
  std::atomic<uint64_t> byClass[kStatusClasses];     // responses, by status / 100 - 1
  std::atomic<uint64_t> bytesSent;                   // response bytes written (head and body)
  std::atomic<uint64_t> durationSumUs;               // sum of the durations below
  std::atomic<uint64_t> duration[kDurationBuckets];  // per bucket, not cumulative
};

// The bucket a duration falls in: the first whose bound is >= us, or the +Inf bucket.
constexpr size_t durationBucket(uint64_t us) {
  size_t i = 0;
  while (i < std::size(kDurationBoundsUs) && us > kDurationBoundsUs[i]) ++i;
  return i;
}

// Counts one finished response. A status outside 100..599 is counted in no class (but its bytes
// and duration are). Single writer: only the slot's worker calls this.
void recordResponse(ResponseStats& s, int status, uint64_t bytes, uint64_t durationUs);

}  // namespace hs
