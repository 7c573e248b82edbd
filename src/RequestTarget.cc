#include "RequestTarget.h"

#include "Router.h"
#include "UrlPath.h"

namespace hs {

void describeTarget(RequestContext& ctx, const TargetBuffers& bufs) {
  ctx.target = ctx.req->target.in(ctx.base);
  TargetParts parts;
  const UrlPathResult pr = normalizeTarget(ctx.target, bufs.path, bufs.pathCap, &parts);
  ctx.pathStatus = pr.status;
  ctx.path = {bufs.path, pr.len};
  ctx.trailingSlash = pr.trailingSlash;
  ctx.rawPath = parts.rawPath;
  ctx.query = parts.query;
  ctx.uri = {bufs.uri, normalizeUri(ctx.target, bufs.uri, bufs.uriCap)};
  std::string_view host = targetAuthority(ctx.target);
  // An absolute-form target names its host (even an empty one, which is refused).
  const bool present =
      (!ctx.target.starts_with('/') && ctx.target.find("://") != std::string_view::npos) ||
      !ctx.req->header(KnownHeader::kHost).empty();
  if (host.empty()) host = ctx.header(KnownHeader::kHost);
  const size_t len = present ? normalizeHost(host, bufs.host, bufs.hostCap) : 0;
  ctx.host = {bufs.host, len};
  ctx.hostStatus = present && len == 0 ? 400 : 0;
}

}  // namespace hs
