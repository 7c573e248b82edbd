#include "ResponseStats.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>

namespace hs {
namespace {

struct BucketCase {
  const char* name;
  uint64_t us;
  size_t bucket;
};

constexpr BucketCase kBucketCases[] = {
    {"zero", 0, 0},
    {"exactly the first bound", 100, 0},
    {"just above the first bound", 101, 1},
    {"one millisecond", 1'000, 3},
    {"between 1 and 2.5 ms", 1'001, 4},
    {"exactly ten seconds", 10'000'000, 15},
    {"above the last bound", 10'000'001, 16},
    {"huge", UINT64_MAX, 16},
};

TEST(ResponseStatsTest, DurationBucketIsTheFirstBoundNotBelowTheDuration) {
  static_assert(kDurationBuckets == 17);
  for (const BucketCase& c : kBucketCases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(durationBucket(c.us), c.bucket);
  }
}

TEST(ResponseStatsTest, BoundsAreStrictlyIncreasing) {
  for (size_t i = 1; i < std::size(kDurationBoundsUs); ++i) {
    SCOPED_TRACE(i);
    EXPECT_LT(kDurationBoundsUs[i - 1], kDurationBoundsUs[i]);
  }
}

struct RecordCase {
  const char* name;
  int status;
  int statusClass;  // -1: counted in no class
};

constexpr RecordCase kRecordCases[] = {
    {"100 Continue", 100, 0}, {"200", 200, 1},  {"206", 206, 1},
    {"304", 304, 2},          {"404", 404, 3},  {"499", 499, 3},
    {"503", 503, 4},          {"599", 599, 4},  {"no response (0)", 0, -1},
    {"99", 99, -1},           {"600", 600, -1}, {"negative", -200, -1},
};

TEST(ResponseStatsTest, RecordCountsClassBytesAndDuration) {
  for (const RecordCase& c : kRecordCases) {
    SCOPED_TRACE(c.name);
    auto s = std::make_unique<ResponseStats>();
    recordResponse(*s, c.status, 1234, 3'000);
    for (int k = 0; k < kStatusClasses; ++k) {
      EXPECT_EQ(s->byClass[k].load(), k == c.statusClass ? 1u : 0u) << "class " << k + 1 << "xx";
    }
    EXPECT_EQ(s->bytesSent.load(), 1234u);
    EXPECT_EQ(s->durationSumUs.load(), 3'000u);
    for (size_t b = 0; b < kDurationBuckets; ++b) {
      EXPECT_EQ(s->duration[b].load(), b == durationBucket(3'000) ? 1u : 0u) << "bucket " << b;
    }
  }
}

TEST(ResponseStatsTest, RecordAccumulates) {
  auto s = std::make_unique<ResponseStats>();
  recordResponse(*s, 200, 10, 50);
  recordResponse(*s, 200, 20, 60);
  recordResponse(*s, 404, 30, 20'000'000);
  EXPECT_EQ(s->byClass[1].load(), 2u);
  EXPECT_EQ(s->byClass[3].load(), 1u);
  EXPECT_EQ(s->bytesSent.load(), 60u);
  EXPECT_EQ(s->durationSumUs.load(), 20'000'110u);
  EXPECT_EQ(s->duration[0].load(), 2u);
  EXPECT_EQ(s->duration[kDurationBuckets - 1].load(), 1u);
}

}  // namespace
}  // namespace hs
