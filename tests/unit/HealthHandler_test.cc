// instanceHealthy: in rotation only while not draining and with every wanted worker of the current
// generation running.
#include "HealthHandler.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace hs {
namespace {

struct Worker {
  int32_t pid;
  uint32_t generation;
};

struct HealthCase {
  const char* name;
  uint32_t generation;
  int32_t wanted;
  uint32_t draining;
  int32_t appsMissing;
  std::vector<Worker> workers;
  bool healthy;
};

const HealthCase kCases[] = {
    {"all workers up", 1, 2, 0, 0, {{10, 1}, {11, 1}}, true},
    {"more than wanted (a resize under way)", 1, 2, 0, 0, {{10, 1}, {11, 1}, {12, 1}}, true},
    {"one missing", 1, 2, 0, 0, {{10, 1}}, false},
    {"draining", 1, 2, 1, 0, {{10, 1}, {11, 1}}, false},
    {"only the retiring generation", 2, 2, 0, 0, {{10, 1}, {11, 1}}, false},
    {"new generation up beside the old", 2, 2, 0, 0, {{10, 1}, {11, 1}, {12, 2}, {13, 2}}, true},
    {"no worker at all", 1, 0, 0, 0, {}, false},
    {"an app process missing", 1, 2, 0, 1, {{10, 1}, {11, 1}}, false},
};

TEST(HealthHandlerTest, InstanceHealthy) {
  for (const HealthCase& c : kCases) {
    SCOPED_TRACE(c.name);
    auto shared = std::make_unique<SharedState>();
    shared->generation = c.generation;
    shared->workersWanted = c.wanted;
    shared->draining = c.draining;
    shared->appsMissing = c.appsMissing;
    for (size_t i = 0; i < c.workers.size(); ++i) {
      shared->workers[i * 3].pid = c.workers[i].pid;  // spread over the slots
      shared->workers[i * 3].generation = c.workers[i].generation;
    }
    EXPECT_EQ(instanceHealthy(*shared), c.healthy);
  }
}

}  // namespace
}  // namespace hs
