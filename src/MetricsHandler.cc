#include "MetricsHandler.h"

#include <unistd.h>

#include <cstring>

namespace hs {

MetricsHandler::MetricsHandler(const SharedState* shared, bool allowRemote,
                               const ErrorPages* errors)
    : shared_(shared),
      allowRemote_(allowRemote),
      errors_(errors),
      snapshot_(std::make_unique<MetricsSnapshot>()) {}

Reply MetricsHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  if (planMonitoringGate(ctx, allowRemote_, *errors_, plan)) return Reply::kReady;
  takeSnapshot(*shared_, snapshot_.get());
  countOwnRequestAsWriting(snapshot_.get(), ::getpid());
  // Render into the buffer as it is; when the text needs more, grow it once and render again.
  std::string& text = plan.generated;
  text.resize(text.capacity());
  size_t len = renderMetrics(*snapshot_, text.data(), text.size(), groups_);
  if (len > text.size()) {
    text.resize(len);
    len = renderMetrics(*snapshot_, text.data(), text.size(), groups_);
  }
  text.resize(len);
  plan.begin(200, ctx.commonHead).add("Cache-Control: no-store\r\n");
  plan.setBody(kMetricsContentType, text, ctx.headOnly());
  return Reply::kReady;
}

}  // namespace hs
