#include "ReturnHandler.h"

namespace hs {
namespace {

bool isRedirect(int code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

}  // namespace

void planReturn(const RequestContext& ctx, const LocationSettings& s, const ErrorPages& errors,
                ResponsePlan& plan) {
  const int code = s.returnCode;
  if (isRedirect(code)) {
    // The URL goes out as configured: a relative one is a valid Location (RFC 9110 10.2.2).
    FixedWriter& w = plan.begin(code, ctx.commonHead);
    w.header("Location", s.returnText).add(headerLinesFor(s, code));
    plan.setBody("text/html; charset=utf-8", errorBody(code), ctx.headOnly());
  } else if (!s.returnText.empty()) {
    plan.begin(code, ctx.commonHead).add(headerLinesFor(s, code));
    plan.setBody("text/plain", s.returnText, ctx.headOnly());
  } else if (code >= 300) {
    errors.fill(ctx, code, plan);
  } else {
    FixedWriter& w = plan.begin(code, ctx.commonHead).add(headerLinesFor(s, code));
    if (code != 204) w.add("Content-Length: 0\r\n");  // 204 carries none (RFC 9110 8.6)
  }
}

Reply ReturnHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  planReturn(ctx, ctx.location->settings, *errors_, plan);
  return Reply::kReady;
}

}  // namespace hs
