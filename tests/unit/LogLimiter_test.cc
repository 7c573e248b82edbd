#include "LogLimiter.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace hs {
namespace {

// One call: at second `t`, expect allow() to return `allowed` and report `suppressed`; or, when
// `tick` is set, expect flush() to return `suppressed`.
struct Step {
  int64_t t;
  bool tick;
  bool allowed;
  uint64_t suppressed;
};

struct LimiterCase {
  const char* name;
  uint32_t perSecond;
  std::vector<Step> steps;
};

const LimiterCase kCases[] = {
    {"under the budget", 3, {{10, false, true, 0}, {10, false, true, 0}, {10, false, true, 0}}},
    {"over the budget",
     2,
     {{10, false, true, 0}, {10, false, true, 0}, {10, false, false, 0}, {10, false, false, 0}}},
    {"the next second reports what was suppressed, once",
     1,
     {{10, false, true, 0},
      {10, false, false, 0},
      {10, false, false, 0},
      {11, false, true, 2},
      {11, false, false, 0},
      {12, false, true, 1}}},
    {"a tick in the same second keeps the count; a later tick takes it",
     1,
     {{10, false, true, 0},
      {10, false, false, 0},
      {10, true, false, 0},
      {11, true, false, 1},
      {11, true, false, 0},
      {12, false, true, 0}}},
    {"nothing suppressed: ticks report nothing", 5, {{10, false, true, 0}, {11, true, false, 0}}},
    {"a zero budget suppresses everything",
     0,
     {{10, false, false, 0}, {10, false, false, 0}, {11, false, false, 2}}},
    {"time going backwards counts as a new second",
     1,
     {{10, false, true, 0}, {10, false, false, 0}, {9, false, true, 1}}},
};

TEST(LogLimiterTest, BudgetPerSecondAndSummaries) {
  for (const LimiterCase& c : kCases) {
    SCOPED_TRACE(c.name);
    LogLimiter limiter(c.perSecond);
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const Step& s = c.steps[i];
      SCOPED_TRACE(i);
      if (s.tick) {
        EXPECT_EQ(limiter.flush(s.t), s.suppressed);
        continue;
      }
      uint64_t suppressed = 99;
      EXPECT_EQ(limiter.allow(s.t, &suppressed), s.allowed);
      EXPECT_EQ(suppressed, s.suppressed);
    }
  }
}

TEST(LogLimiterTest, AFloodWritesTheBudgetPlusOneSummaryPerSecond) {
  LogLimiter limiter(10);
  uint64_t written = 0, summaries = 0, reported = 0;
  for (int64_t t = 0; t < 5; ++t) {
    for (int i = 0; i < 1000; ++i) {
      uint64_t suppressed = 0;
      if (limiter.allow(t, &suppressed)) ++written;
      if (suppressed != 0) {
        ++summaries;
        reported += suppressed;
      }
    }
  }
  reported += limiter.flush(5);
  EXPECT_EQ(written, 50u);
  EXPECT_EQ(summaries, 4u);
  EXPECT_EQ(reported, 5000u - 50u);
}

}  // namespace
}  // namespace hs
