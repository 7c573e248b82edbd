#include "ErrorPages.h"

#include <cstring>

#include "FileCache.h"
#include "Router.h"
#include "Sites.h"
#include "Socket.h"

namespace hs {

void ErrorPages::fill(const RequestContext& ctx, int status, ResponsePlan& plan) const {
  const std::map<int, std::string>* pages = &pages_;
  int shown = status;  // error_page ... =CODE (or '=': the page's own 200) changes the status
  if (ctx.location != nullptr) {
    const LocationSettings& s = ctx.location->settings;
    pages = &s.errorPages;
    if (const auto code = s.errorPageCodes.find(status); code != s.errorPageCodes.end()) {
      shown = code->second > 0 ? code->second : 200;
    }
  }
  const auto custom = pages->find(status);
  if (custom != pages->end()) {
    begin(ctx, shown, plan);
    if (sendPage(ctx, custom->second, plan)) return;
  }
  begin(ctx, status, plan);
  plan.setBody("text/html; charset=utf-8", errorBody(status), ctx.headOnly());
}

// The status line and the header lines every error response with `status` carries.
void ErrorPages::begin(const RequestContext& ctx, int status, ResponsePlan& plan) const {
  FixedWriter& w = plan.begin(status, ctx.commonHead);
  if (status == 405) w.add("Allow: GET, HEAD, OPTIONS\r\n");
  if (ctx.location == nullptr) return;
  const LocationSettings& s = ctx.location->settings;
  w.add(headerLinesFor(s, status));
  if (status == 401 && !s.authRealm.empty()) {
    w.add("WWW-Authenticate: Basic realm=\"").add(s.authRealm).add("\"\r\n");
  }
}

// Sends the file the page's URI names, if there is one (headers already begun). Routed through
// the server's locations when the request has one; the page's own location's `return`, access
// rules and try_files do not apply (only a file is ever sent), and there is no second redirect.
bool ErrorPages::sendPage(const RequestContext& ctx, std::string_view uri,
                          ResponsePlan& plan) const {
  FileCache* cache = cache_;
  std::string_view path = uri.substr(uri.starts_with('/') ? 1 : 0);
  char buf[4096];
  if (ctx.server != nullptr && sites_ != nullptr) {
    const Location& loc = selectLocation(*ctx.server, uri);  // a std::string's data: NUL-ended
    const FileMapping m = mapToFile(loc, uri, buf, sizeof buf);
    if (m.status != 0) return false;
    cache = sites_->cache(loc.settings.rootId);
    path = m.rel;
  }
  if (cache == nullptr) return false;
  FileEntry* e = cache->acquire(path, ctx.nowMs);
  if (e->status != 0 || e->isDir) {
    cache->release(e);
    return false;
  }
  const bool headOnly = ctx.headOnly();  // never a body, even on an error that closes
  plan.holdFile(cache, e);
  plan.head().header("Content-Type", e->mime).header("Content-Length", e->size);
  if (!headOnly && e->size > 0) plan.add(BodyPart{e->data.get(), 0, e->size});
  plan.bodyBytes = headOnly ? 0 : e->size;
  return true;
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

bool planMonitoringGate(const RequestContext& ctx, bool allowRemote, const ErrorPages& errors,
                        ResponsePlan& plan) {
  if (planOtherMethods(ctx, errors, plan)) return true;
  sockaddr_storage peer{};
  std::memcpy(&peer, ctx.peer, sizeof *ctx.peer);
  if (allowRemote || isLoopback(peer)) return false;
  errors.fill(ctx, 403, plan);
  return true;
}

}  // namespace hs
