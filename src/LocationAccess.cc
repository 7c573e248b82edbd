#include "LocationAccess.h"

#include <cstring>

namespace hs {

int checkGate(const LocationSettings& s, const RequestContext& ctx) {
  if (!s.access.empty() && !s.access.allows(reinterpret_cast<const sockaddr*>(ctx.peer))) {
    return 403;
  }
  if (s.authRealm.empty()) return 0;
  char buf[1024];
  std::string_view user, password;
  const bool ok =
      decodeBasicAuth(ctx.header(KnownHeader::kAuthorization), buf, sizeof buf, &user, &password) &&
      s.authUsers->verify(user, password);
  ::explicit_bzero(buf, sizeof buf);
  return ok ? 0 : 401;
}

}  // namespace hs
