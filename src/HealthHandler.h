// The health path (--health-path, e.g. /healthz) for a load balancer's checks: 200 while the
// instance serves with all its workers (and app processes) up, 503 when one is missing or once the
// master began to
// drain (QUIT or WINCH with a drain delay), so the balancer takes the instance out of rotation
// before it stops accepting. Synchronous; reads SharedState only.
#pragma once

#include "ErrorPages.h"
#include "Handler.h"
#include "SharedState.h"

namespace hs {

// Whether the instance should be in rotation: not draining, every app process the master wants
// running, and at least as many workers of the current generation running as it wants.
bool instanceHealthy(const SharedState& shared);

class HealthHandler final : public Handler {
 public:
  // `shared` and `errors` are borrowed and must outlive the handler.
  HealthHandler(const SharedState* shared, const ErrorPages* errors)
      : shared_(shared), errors_(errors) {}

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;

 private:
  const SharedState* shared_;
  const ErrorPages* errors_;
};

}  // namespace hs
