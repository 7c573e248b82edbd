// The metrics handler (--metrics-path): the counters in SharedState in the Prometheus text
// exposition format, version 0.0.4 (see Metrics.h). Loopback clients only unless
// --metrics-allow-remote, as the status page. Synchronous. The text is rendered into the plan's
// reusable buffer, so a scrape allocates only while that buffer grows to the page's size.
#pragma once

#include <memory>
#include <vector>

#include "ErrorPages.h"
#include "Handler.h"
#include "Metrics.h"
#include "SharedState.h"

namespace hs {

class MetricsHandler final : public Handler {
 public:
  // `shared` and `errors` are borrowed and must outlive the handler.
  MetricsHandler(const SharedState* shared, bool allowRemote, const ErrorPages* errors);

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
