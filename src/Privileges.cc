#include "Privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>

namespace hs {

bool resolvePrivileges(const std::string& user, Privileges* out, std::string* err) {
  *out = Privileges();
  if (::geteuid() != 0) {
    if (!user.empty()) *err = "--user " + user + " needs the server to be started as root";
    return user.empty();
  }
  std::string name = user.empty() ? "nobody" : user;
  if (name == "root") return true;
  errno = 0;
  struct passwd* pw = ::getpwnam(name.c_str());
  if (pw == nullptr) {
    *err = "unknown user '" + name + "' (see --user)";
    return false;
  }
  out->drop = true;
  out->uid = pw->pw_uid;
  out->gid = pw->pw_gid;
  return true;
}

bool dropPrivileges(const Privileges& p) {
  if (!p.drop) return true;
  if (::setgroups(1, &p.gid) != 0 || ::setgid(p.gid) != 0 || ::setuid(p.uid) != 0) return false;
  // Paranoia, as the man pages advise: regaining root must now fail.
  if (::getuid() != p.uid || ::geteuid() != p.uid || (p.uid != 0 && ::setuid(0) == 0)) {
    errno = EPERM;
    return false;
  }
  return true;
}

}  // namespace hs
