// The crash-loop back-off, as pure bookkeeping (the forking part is covered by the lifecycle
// integration tests).
#include "Supervisor.h"

#include <gtest/gtest.h>

namespace hs {
namespace {

TEST(BackoffTest, DelaysStartAfterFiveFastFailuresDoublingUpToThirtySeconds) {
  Backoff b;
  const int64_t expected[] = {0, 0, 0, 0, 1000, 2000, 4000, 8000, 16000, 30000, 30000};
  for (size_t i = 0; i < std::size(expected); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(b.onExit(10), expected[i]);
    EXPECT_EQ(b.fastFailures, static_cast<int>(i + 1));
  }
  EXPECT_EQ(b.restarts, std::size(expected));
}

TEST(BackoffTest, AWorkerThatLivedASecondResetsTheCount) {
  Backoff b;
  for (int i = 0; i < 6; ++i) b.onExit(0);
  EXPECT_EQ(b.onExit(Backoff::kFastFailureMs), 0);
  EXPECT_EQ(b.fastFailures, 0);
  EXPECT_EQ(b.onExit(Backoff::kFastFailureMs - 1), 0);
  EXPECT_EQ(b.fastFailures, 1);
  EXPECT_EQ(b.restarts, 8u);
}

}  // namespace
}  // namespace hs
