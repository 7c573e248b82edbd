// What a worker serves: the routing configuration compiled from its Config (regexes compiled and
// htpasswd files read once per configuration), and for each directory a root or alias names, an
// open O_PATH fd and the FileCache of files beneath it. Built at the worker's start-up, before
// privileges are dropped; only the caches change afterwards. Owns the fds and the caches.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "Config.h"
#include "FileCache.h"
#include "RouteConfig.h"
#include "UniqueFd.h"

namespace hs {

class Sites {
 public:
  Sites() = default;
  Sites(const Sites&) = delete;
  Sites& operator=(const Sites&) = delete;

  // Compiles cfg's routes and opens every root. Returns false with *err when the routes do not
  // compile. A root that cannot be opened is logged and answers 500 (its cache has no directory).
  bool open(const Config& cfg, std::string* err);

  const RouteConfig& routes() const { return routes_; }
  FileCache* cache(uint32_t rootId) const { return caches_[rootId].get(); }

 private:
  RouteConfig routes_;
  std::vector<UniqueFd> rootFds_;
  std::vector<std::unique_ptr<FileCache>> caches_;
};

}  // namespace hs
