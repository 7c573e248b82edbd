#include "ConfigCheck.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "AppConfig.h"
#include "GatewayTargets.h"
#include "Listeners.h"
#include "RouteConfig.h"
#include "UniqueFd.h"
#include "UpstreamConfig.h"

namespace hs {
namespace {

using Problems = std::vector<std::string>;

// What the workers meet, each checked as their user: directories to read (the root, each server's
// and location's root or alias), opened before the switch as the workers open them; htpasswd
// files to read; log files to reopen by path.
struct Targets {
  std::vector<std::pair<std::string, UniqueFd>> dirs;  // "document root /x" or "root /y", fd
  std::vector<std::string> userFiles;
  std::vector<std::pair<std::string, std::string>> logs;  // what, path
};

std::string absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  char cwd[PATH_MAX];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

// The directory holding an absolute path.
std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string userName(uid_t uid) {
  struct passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : "uid " + std::to_string(uid);
}

// As the master: the root exists and is a directory. False when there is no point going on.
bool checkRootExists(const std::string& root, Problems* out,
                     const std::string& what = "document root") {
  struct stat st;
  if (::stat(root.c_str(), &st) != 0) {
    int err = errno;
    std::string msg = what + " " + root + ": " + std::strerror(err);
    if (err == ENOENT && what == "document root") {
      msg += "; create it, or serve another directory with --root DIR (e.g. --root www)";
    }
    out->push_back(msg);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    out->push_back(what + " " + root + " is not a directory");
    return false;
  }
  return true;
}

// As the master, who creates the log file or appends to it (opening nothing for writing).
void checkLogAsMaster(const char* what, const std::string& path, Problems* out) {
  std::string dir = dirOf(path);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    int err = errno;
    out->push_back(std::string(what) + " " + path + ": " +
                   (err == ENOENT
                        ? "directory " + dir + " does not exist; create it (mkdir -p " + dir + ")"
                        : dir + ": " + std::strerror(err)));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    out->push_back(std::string(what) + " " + path + ": " + dir + " is not a directory");
  } else if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      out->push_back(std::string(what) + " " + path + " is a directory");
    } else if (::access(path.c_str(), W_OK) != 0) {
      out->push_back(std::string(what) + " " + path + " cannot be appended to by user " +
                     userName(::getuid()) + ": " + std::strerror(errno));
    }
  } else if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    out->push_back(std::string(what) + " " + path + " cannot be created in " + dir + " by user " +
                   userName(::getuid()) + ": " + std::strerror(errno));
  }
}

// As the workers' user: read each directory; read the htpasswd files; reach the logs, which they
// reopen by path. The directories were opened before the switch, as a worker opens them before
// dropping root, so only their own permissions count, not their parents'.
void checkAsWorkers(const Targets& t, bool dropped, Problems* out) {
  std::string user = userName(::getuid());
  std::string hint = dropped ? " (the workers run as " + user + "; see --user)" : "";
  for (const auto& [what, fd] : t.dirs) {
    UniqueFd dir(::openat(fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) {
      out->push_back(what + " is not readable by user " + user + ": " + std::strerror(errno) +
                     hint);
    }
  }
  for (const std::string& path : t.userFiles) {
    if (UniqueFd f(::open(path.c_str(), O_RDONLY | O_CLOEXEC)); !f) {
      out->push_back("auth_basic_user_file " + path + " is not readable by user " + user + ": " +
                     std::strerror(errno) + hint);
    }
  }
  if (!dropped) return;  // the master's check covered the logs for this same user
  for (const auto& [what, path] : t.logs) {
    // A missing directory was reported by the master's check.
    if (path.empty() || ::access(dirOf(path).c_str(), X_OK) == 0 || errno == ENOENT) continue;
    out->push_back(std::string(what) + " " + path + ": directory " + dirOf(path) +
                   " is not searchable by user " + user +
                   ", who reopens the log after a rotation: " + std::strerror(errno) + hint);
  }
}

// Runs checkAsWorkers in a child that has dropped to `p`; its lines come back through a pipe.
void checkInChild(const Targets& t, const Privileges& p, Problems* out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    out->push_back(std::string("pipe() failed: ") + std::strerror(errno));
    return;
  }
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = ::fork();
  if (pid == 0) {
    rd.reset();
    Problems mine;
    if (!dropPrivileges(p)) {
      mine.push_back("cannot switch to user " + userName(p.uid) + ": " + std::strerror(errno));
    } else {
      checkAsWorkers(t, true, &mine);
    }
    for (const std::string& line : mine) {
      std::string l = line + "\n";
      if (::write(wr.get(), l.data(), l.size()) < 0) break;
    }
    ::_exit(0);
  }
  wr.reset();
  std::string text;
  char buf[512];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buf, static_cast<size_t>(n));
  }
  if (pid > 0) ::waitpid(pid, nullptr, 0);
  for (size_t start = 0, nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
    out->push_back(text.substr(start, nl - start));
  }
}

void addOnce(std::vector<std::string>* list, const std::string& s) {
  if (std::find(list->begin(), list->end(), s) == list->end()) list->push_back(s);
}

// The access logs a location and its nested locations name.
void collectLogs(const Location& l, std::vector<std::string>* logs) {
  if (!l.settings.accessLog.empty()) addOnce(logs, absolute(l.settings.accessLog));
  for (const auto* list : {&l.exact, &l.prefixes, &l.regexes}) {
    for (const auto& nested : *list) collectLogs(*nested, logs);
  }
}

// The server blocks' roots, aliases, htpasswd files and access logs, checked as the master (each
// directory exists, each log can be created or appended to) and queued for the workers' check.
// The top-level root is checked on its own, with advice.
void addRouteTargets(const Config& cfg, const RouteConfig& routes, Targets* t, Problems* out) {
  for (const std::string& d : routes.roots) {
    if (d == cfg.root || !checkRootExists(d, out, "root or alias")) continue;
    t->dirs.emplace_back("root or alias " + d,
                         UniqueFd(::open(d.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)));
  }
  std::vector<std::string> logs;
  for (const auto& s : routes.servers) collectLogs(s->root, &logs);
  for (const std::string& l : logs) {
    if (l == cfg.accessLog) continue;
    checkLogAsMaster("access log", l, out);
    t->logs.emplace_back("access log", l);
  }
  t->userFiles = routes.htpasswdFiles;
}

// The routing configuration compiles and its listen addresses can all be opened; what it names on
// disk is checked. Conflicting server names are warnings (the first one wins, as in nginx).
void checkRoutes(const Config& cfg, Targets* t, Problems* out, Problems* warnings) {
  RouteConfig routes;
  ListenTable listens;
  std::string problem;
  std::vector<std::string> all;  // every invalid regex and unreadable htpasswd file, one line each
  if (!compileRoutes(cfg, &routes, &problem, &all)) {
    out->insert(out->end(), all.begin(), all.end());
    if (std::find(all.begin(), all.end(), problem) == all.end()) out->push_back(problem);
    return;
  }
  if (!listenTable(cfg, &listens, &problem)) {
    out->push_back(problem);
    return;
  }
  addRouteTargets(cfg, routes, t, out);
  if (warnings != nullptr)
    warnings->insert(warnings->end(), routes.warnings.begin(), routes.warnings.end());
}

// Every app and upstream group compiles, every fastcgi_pass names one (or an address), and every
// app's command can be executed.
void checkApps(const Config& cfg, Problems* out) {
  std::vector<AppSpec> apps;
  std::vector<UpstreamGroupSpec> upstreams;
  std::string problem;
  if (!compileApps(cfg, &apps, &problem) || !compileUpstreams(cfg, &upstreams, &problem)) {
    out->push_back(problem);
    return;
  }
  RouteConfig routes;
  if (compileRoutes(cfg, &routes, &problem)) {
    problem = GatewayTargets::check(routes, apps, upstreams);
    if (!problem.empty()) out->push_back(problem);
  }
  for (const AppSpec& a : apps) {
    if (::access(a.command[0].c_str(), X_OK) != 0) {
      out->push_back(a.file + ":" + std::to_string(a.line) + ": app " + a.name + ": command " +
                     a.command[0] + " cannot be executed (" + std::strerror(errno) + ")");
    }
  }
}

}  // namespace

void prepareConfig(Config* cfg, const std::string& daemonErrorLog) {
  if (cfg->daemon && cfg->errorLog.empty()) cfg->errorLog = daemonErrorLog;
  cfg->root = absolute(cfg->root);
  cfg->pidFile = absolute(cfg->pidFile);
  cfg->errorLog = absolute(cfg->errorLog);
  if (cfg->accessLog != "off") cfg->accessLog = absolute(cfg->accessLog);
  cfg->configFile = absolute(cfg->configFile);
}

std::vector<std::string> checkConfig(const Config& cfg, const Privileges& workers,
                                     std::vector<std::string>* warnings) {
  Problems out;
  Targets t;
  bool rootExists = checkRootExists(cfg.root, &out);
  UniqueFd rootFd(::open(cfg.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (rootExists && rootFd) t.dirs.emplace_back("document root " + cfg.root, std::move(rootFd));
  if (rootExists) checkRoutes(cfg, &t, &out, warnings);
  checkApps(cfg, &out);
  if (!cfg.errorLog.empty()) checkLogAsMaster("error log", cfg.errorLog, &out);
  if (!cfg.accessLog.empty()) checkLogAsMaster("access log", cfg.accessLog, &out);
  t.logs.insert(t.logs.begin(), {{"error log", cfg.errorLog}, {"access log", cfg.accessLog}});
  if (!rootExists || t.dirs.empty()) return out;
  if (workers.drop) {
    checkInChild(t, workers, &out);
  } else {
    checkAsWorkers(t, false, &out);
  }
  return out;
}

}  // namespace hs
