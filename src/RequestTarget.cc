#include "RequestTarget.h"

#include <cstring>

#include "HttpLexical.h"
#include "Router.h"
#include "UrlPath.h"

namespace hs {

namespace {

// nginx's $uri for a target whose file path normalized cleanly: the same decoded, resolved
// segments with a leading '/' and a trailing one for a directory, so the target is not walked a
// second time. A hidden segment (404) or a refused byte (400) leaves the file path empty while $uri
// may still exist, and a raw path near the buffer's size could fail only one of the two resolutions
// on the way: those targets take normalizeUri.
size_t uriFromPath(const RequestContext& ctx, std::string_view rawPath, const TargetBuffers& bufs) {
  if (ctx.pathStatus != 0 || rawPath.size() + 3 > bufs.uriCap) {
    return normalizeUri(ctx.target, bufs.uri, bufs.uriCap);
  }
  char* out = bufs.uri;
  out[0] = '/';
  std::memcpy(out + 1, ctx.path.data(), ctx.path.size());
  size_t len = ctx.path.size() + 1;
  if (ctx.trailingSlash && !ctx.path.empty()) out[len++] = '/';
  out[len] = '\0';
  return len;
}

// normalizeHost through the memo: a value seen before is copied (lowercased if need be) unchecked.
size_t hostFor(std::string_view host, const TargetBuffers& bufs) {
  if (bufs.hosts == nullptr || !bufs.hosts->enabled()) {
    return normalizeHost(host, bufs.host, bufs.hostCap);
  }
  uint64_t hash = 0;
  const HostForm* known = bufs.hosts->find(host, &hash);
  if (known != nullptr && known->len <= bufs.hostCap) {
    if (known->lowercase) {
      if (known->len != 0) std::memcpy(bufs.host, host.data(), known->len);
    } else {
      for (size_t i = 0; i < known->len; ++i) bufs.host[i] = toLowerAscii(host[i]);
    }
    return known->len;
  }
  const size_t len = normalizeHost(host, bufs.host, bufs.hostCap);
  const bool lowercase = len == 0 || std::memcmp(bufs.host, host.data(), len) == 0;
  bufs.hosts->remember(host, hash, HostForm{static_cast<uint16_t>(len), lowercase});
  return len;
}

}  // namespace

void describeTarget(RequestContext& ctx, const TargetBuffers& bufs) {
  ctx.target = ctx.req->target.in(ctx.base);
  TargetParts parts;
  const UrlPathResult pr = normalizeTarget(ctx.target, bufs.path, bufs.pathCap, &parts);
  ctx.pathStatus = pr.status;
  ctx.pathReason = pr.reason;
  ctx.path = {bufs.path, pr.len};
  ctx.trailingSlash = pr.trailingSlash;
  ctx.rawPath = parts.rawPath;
  ctx.query = parts.query;
  ctx.uri = {bufs.uri, uriFromPath(ctx, parts.rawPath, bufs)};
  // An absolute-form target names its host (even an empty one, which is refused).
  std::string_view host;
  bool present = !ctx.req->header(KnownHeader::kHost).empty();
  if (!ctx.target.starts_with('/')) {
    host = targetAuthority(ctx.target);
    present = present || ctx.target.find("://") != std::string_view::npos;
  }
  if (host.empty()) host = ctx.header(KnownHeader::kHost);
  const size_t len = present ? hostFor(host, bufs) : 0;
  ctx.host = {bufs.host, len};
  ctx.hostStatus = present && len == 0 ? 400 : 0;
}

}  // namespace hs
