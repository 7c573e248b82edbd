// ResponsePlan's send cursor: advance() spreads sent bytes over the parts they covered.
#include "ResponsePlan.h"

#include <gtest/gtest.h>

#include <vector>

namespace hs {
namespace {

struct AdvanceCase {
  const char* name;
  std::vector<uint64_t> partLens;
  uint64_t sentBefore;  // bytes advanced first (one call)
  uint64_t sent;        // then this many
  uint32_t wantPart;
  uint64_t wantPartSent;
};

TEST(ResponsePlanTest, AdvanceSpreadsBytesOverParts) {
  const AdvanceCase cases[] = {
      {"nothing sent", {10, 20}, 0, 0, 0, 0},
      {"inside the first part", {10, 20}, 0, 4, 0, 4},
      {"exactly the first part", {10, 20}, 0, 10, 1, 0},
      {"into the second part", {10, 20}, 0, 15, 1, 5},
      {"everything", {10, 20}, 0, 30, 2, 0},
      {"resumed mid-part", {10, 20}, 4, 6, 1, 0},
      {"resumed across parts", {10, 20, 5}, 4, 27, 2, 1},
      {"more than queued stops at the end", {3}, 0, 9, 1, 0},
      {"a zero-length part is skipped", {3, 0, 4}, 0, 5, 2, 2},
  };
  static const char kBytes[64] = {};
  for (const AdvanceCase& c : cases) {
    SCOPED_TRACE(c.name);
    ResponsePlan plan;
    for (uint64_t len : c.partLens) {
      BodyPart p{};
      p.mem = kBytes;
      p.len = len;
      ASSERT_TRUE(plan.add(p));
    }
    plan.advance(c.sentBefore);
    plan.advance(c.sent);
    EXPECT_EQ(plan.part, c.wantPart);
    EXPECT_EQ(plan.partSent, c.wantPartSent);
  }
}

}  // namespace
}  // namespace hs
