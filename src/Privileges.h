// Dropping root in a worker: which user to become (resolvePrivileges), then setgroups, setgid,
// setuid, in that order, and a check that root cannot be regained.
#pragma once

#include <sys/types.h>

#include <string>

namespace hs {

struct Privileges {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Resolves NAME for workers. As root without a NAME, workers run as "nobody" (as nginx does);
// "--user root" keeps root on purpose. Not root: no change. Returns false with *err on failure.
bool resolvePrivileges(const std::string& user, Privileges* out, std::string* err);

// Applies `p` to this process. Returns false (errno set) if any step failed.
bool dropPrivileges(const Privileges& p);

}  // namespace hs
