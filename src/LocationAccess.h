// A location's gate, passed before its handler runs or any file is touched: allow/deny by the
// client's address first (403), then auth_basic (401), as nginx's default `satisfy all`.
#pragma once

#include "Handler.h"
#include "RouteConfig.h"

namespace hs {

// 0 when the request may proceed, else 403 (refused by allow/deny) or 401 (no or wrong
// credentials). The password is compared in constant time and never copied anywhere but a stack
// buffer, which is cleared.
int checkGate(const LocationSettings& s, const RequestContext& ctx);
inline int checkAccess(const LocationSettings& s, const RequestContext& ctx) {
  return s.access.empty() && s.authRealm.empty() ? 0 : checkGate(s, ctx);
}

}  // namespace hs
