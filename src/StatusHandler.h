// The status handler (--status-path): the server's counters from SharedState, in nginx
// stub_status's text form or, with "json" in the query, as JSON. Loopback clients only unless
// --status-allow-remote. Synchronous.
#pragma once

#include "ErrorPages.h"
#include "Handler.h"
#include "SharedState.h"

namespace hs {

class StatusHandler final : public Handler {
 public:
  // `shared` and `errors` are borrowed and must outlive the handler.
  StatusHandler(const SharedState* shared, bool allowRemote, const ErrorPages* errors)
      : shared_(shared), allowRemote_(allowRemote), errors_(errors) {}

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;

 private:
  const SharedState* shared_;
  bool allowRemote_;
  const ErrorPages* errors_;
};

}  // namespace hs
