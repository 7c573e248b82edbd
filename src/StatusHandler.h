// The status handler (--status-path): the server's counters from SharedState (one MetricsSnapshot,
// as the metrics endpoint takes it), in nginx stub_status's text form or, with "json" in the
// query, as JSON under the same names. Loopback clients only unless --status-allow-remote. Its own
// request counts under Writing, as in nginx. Synchronous.
#pragma once

#include <memory>
#include <vector>

#include "ErrorPages.h"
#include "Handler.h"
#include "Metrics.h"
#include "SharedState.h"

namespace hs {

class StatusHandler final : public Handler {
 public:
  // `shared` and `errors` are borrowed and must outlive the handler.
  StatusHandler(const SharedState* shared, bool allowRemote, const ErrorPages* errors);

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;

  // The configuration's upstream groups (borrowed): their servers are shown too.
  void setUpstreams(const std::vector<UpstreamGroupSpec>* groups) { groups_ = groups; }

 private:
  const SharedState* shared_;
  bool allowRemote_;
  const ErrorPages* errors_;
  const std::vector<UpstreamGroupSpec>* groups_ = nullptr;
  std::unique_ptr<MetricsSnapshot> snapshot_;  // ~25 KiB: one per worker, not on the stack
};

}  // namespace hs
