#include "Startup.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "RouteConfig.h"

namespace hs {
namespace {

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

std::string checkRoot(const std::string& root) {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    int err = errno;
    std::string msg = "document root " + root + ": " + std::strerror(err);
    if (err == ENOENT) msg += "; create it, or serve another directory with --root DIR (e.g. --root www)";
    return msg;
  }
  if (!S_ISDIR(st.st_mode)) return "document root " + root + " is not a directory";
  if (::access(root.c_str(), R_OK | X_OK) != 0) {
    return "document root " + root + " is not readable: " + std::strerror(errno);
  }
  return "";
}

}  // namespace

std::string prepareConfig(Config* cfg) {
  cfg->root = absolute(cfg->root);
  cfg->pidFile = absolute(cfg->pidFile);
  cfg->errorLog = absolute(cfg->errorLog);
  if (cfg->accessLog != "off") cfg->accessLog = absolute(cfg->accessLog);
  cfg->configFile = absolute(cfg->configFile);
  std::string problem = checkRoot(cfg->root);
  RouteConfig routes;
  if (problem.empty() && !compileRoutes(*cfg, &routes, &problem)) return problem;
  // The block grammar is checked (so -t and -T report its errors) but the workers serve only the
  // top-level settings so far: refuse to run rather than silently ignore it.
  if (problem.empty() && !cfg->routing.empty() && !cfg->testOnly) {
    const ConfNode& n = cfg->routing.front();
    problem = n.file + ":" + std::to_string(n.line) + ": '" + n.name +
              "' is checked (-t) but not served yet; serve with top-level directives only";
  }
  return problem;
}

}  // namespace hs
