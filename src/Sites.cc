#include "Sites.h"

#include <fcntl.h>

#include <cerrno>

#include "Log.h"

namespace hs {

bool Sites::open(const Config& cfg, std::string* err) {
  if (!compileRoutes(cfg, &routes_, err)) return false;
  for (const std::string& root : routes_.roots) {
    UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) LOG_SYSERR(errno, "open(\"%s\") of a document root failed", root.c_str());
    caches_.push_back(std::make_unique<FileCache>(fd.get()));
    rootFds_.push_back(std::move(fd));
  }
  return true;
}

}  // namespace hs
