// Describes a parsed request's target in its RequestContext, once, for every handler: the raw path
// and query, the normalized file path, nginx's $uri for routing, and the normalized host that
// selects the server. Pure code; the connection and the handler tests fill a context the same way.
#pragma once

#include <cstddef>

#include "Handler.h"
#include "RouteMemo.h"

namespace hs {

// What a Host value normalizes to: its first `len` bytes (0: refused with 400), lowercased unless
// they are lowercase already.
struct HostForm {
  uint16_t len = 0;
  bool lowercase = false;
};

// Recent Host values (as sent) and their normalized form, which is always the value's lowercased
// prefix. A keep-alive client repeats its Host on every request; the worker keeps one memo for all
// its connections.
class HostMemo : public RouteMemo<HostForm> {};

// Caller-owned buffers the context's views point into; they must outlive the request.
struct TargetBuffers {
  char* path;
  size_t pathCap;
  char* uri;
  size_t uriCap;
  char* host;
  size_t hostCap;
  const HostMemo* hosts;  // nullptr: every host is normalized from scratch
};

// Fills ctx.target, rawPath, query, path, pathStatus, pathReason, trailingSlash, uri, host and
// hostStatus from ctx.req and ctx.base. The host comes from an absolute-form target's authority,
// else from the Host header; a request without either has host "" (HTTP/1.0); an invalid one gets
// hostStatus 400.
void describeTarget(RequestContext& ctx, const TargetBuffers& bufs);

}  // namespace hs
