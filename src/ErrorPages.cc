#include "ErrorPages.h"

#include "FileCache.h"

namespace hs {

void ErrorPages::fill(const RequestContext& ctx, int status, ResponsePlan& plan) const {
  FixedWriter& w = plan.begin(status, ctx.commonHead);
  if (status == 405) w.add("Allow: GET, HEAD, OPTIONS\r\n");
  bool headOnly = ctx.headOnly();  // never a body, even on an error that closes
  auto custom = pages_.find(status);
  if (custom != pages_.end() && cache_ != nullptr) {
    std::string_view page = custom->second;
    if (!page.empty() && page[0] == '/') page.remove_prefix(1);
    FileEntry* e = cache_->acquire(page, ctx.nowMs);
    if (e->status == 0 && !e->isDir) {
      plan.holdFile(cache_, e);
      w.header("Content-Type", e->mime).header("Content-Length", e->size);
      if (!headOnly && e->size > 0) plan.add(BodyPart{e->data.get(), 0, e->size});
      plan.bodyBytes = headOnly ? 0 : e->size;
      return;
    }
    cache_->release(e);
  }
  plan.setBody("text/html; charset=utf-8", errorBody(status), headOnly);
}

bool planOtherMethods(const RequestContext& ctx, const ErrorPages& errors, ResponsePlan& plan) {
  switch (ctx.req->method) {
    case Method::kGet:
    case Method::kHead:
      return false;
    case Method::kOptions:
      plan.begin(200, ctx.commonHead).add("Allow: GET, HEAD, OPTIONS\r\nContent-Length: 0\r\n");
      return true;
    case Method::kUnknown:
      errors.fill(ctx, 501, plan);
      return true;
    default:
      errors.fill(ctx, 405, plan);
      return true;
  }
}

}  // namespace hs
