#include "HealthHandler.h"

namespace hs {

bool instanceHealthy(const SharedState& shared) {
  if (shared.draining.load(std::memory_order_relaxed) != 0) return false;
  if (shared.appsMissing.load(std::memory_order_relaxed) > 0) return false;
  const uint32_t gen = shared.generation.load(std::memory_order_relaxed);
  int32_t up = 0;
  for (const WorkerStats& w : shared.workers) {
    if (w.pid.load(std::memory_order_relaxed) != 0 &&
        w.generation.load(std::memory_order_relaxed) == gen) {
      ++up;
    }
  }
  return up > 0 && up >= shared.workersWanted.load(std::memory_order_relaxed);
}

Reply HealthHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  if (planOtherMethods(ctx, *errors_, plan)) return Reply::kReady;
  const bool ok = instanceHealthy(*shared_);
  plan.begin(ok ? 200 : 503, ctx.commonHead).add("Cache-Control: no-store\r\n");
  plan.setBody("text/plain; charset=utf-8", ok ? "ok\n" : "unavailable\n", ctx.headOnly());
  return Reply::kReady;
}

}  // namespace hs
