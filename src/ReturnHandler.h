// `return CODE [URL|TEXT]`: a redirect (301, 302, 303, 307, 308) with its Location, a text body, or
// for a code alone the error response (so error_page applies). Synchronous; touches no file.
#pragma once

#include "ErrorPages.h"
#include "Handler.h"
#include "RouteConfig.h"

namespace hs {

// Fills `plan` with s's return answer to ctx's request.
void planReturn(const RequestContext& ctx, const LocationSettings& s, const ErrorPages& errors,
                ResponsePlan& plan);

class ReturnHandler final : public Handler {
 public:
  // `errors` is borrowed and must outlive the handler.
  explicit ReturnHandler(const ErrorPages* errors) : errors_(errors) {}

  // ctx.location must be set (the selector picks this handler only for a location with `return`).
  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;

 private:
  const ErrorPages* errors_;
};

}  // namespace hs
