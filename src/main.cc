// HttpServer entry point: argv -> Config -> checks -> listen socket -> Master::run().
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "Config.h"
#include "Log.h"
#include "Master.h"
#include "ProcTitle.h"
#include "Socket.h"
#include "Startup.h"

namespace {

constexpr const char* kVersion = "HttpServer 1.0.0";

int fail(const std::string& msg) {
  std::fprintf(stderr, "HttpServer: %s\n", msg.c_str());
  return 1;
}

// A listen socket handed over by a binary upgrade (HTTPSERVER_LISTEN_FD) or by systemd socket
// activation (LISTEN_FDS/LISTEN_PID, first fd is 3). Invalid when there is none.
hs::UniqueFd inheritedListenFd() {
  if (const char* v = ::getenv("HTTPSERVER_LISTEN_FD")) {
    int fd = std::atoi(v);
    ::unsetenv("HTTPSERVER_LISTEN_FD");
    if (fd >= 3 && ::fcntl(fd, F_GETFD) >= 0) {
      ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      return hs::UniqueFd(fd);
    }
  }
  const char* pid = ::getenv("LISTEN_PID");
  const char* fds = ::getenv("LISTEN_FDS");
  if (pid != nullptr && fds != nullptr && std::atoi(pid) == ::getpid() && std::atoi(fds) >= 1) {
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    ::fcntl(3, F_SETFL, ::fcntl(3, F_GETFL) | O_NONBLOCK);
    return hs::UniqueFd(3);
  }
  return hs::UniqueFd();
}

// Each worker needs an fd per connection plus a few of its own: lift the soft limit to the hard
// one (as nginx's worker_rlimit_nofile) and say so when even that is too small.
void raiseFdLimit(const hs::Config& cfg) {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  auto need = static_cast<rlim_t>(cfg.conns) + 64;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    LOG_WARN("open-file limit %llu is below conns + 64 = %llu; raise it (ulimit -n) or lower conns",
             static_cast<unsigned long long>(rl.rlim_cur), static_cast<unsigned long long>(need));
  }
}

bool daemonize() {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid > 0) ::_exit(0);
  ::setsid();
  pid = ::fork();  // no longer a session leader: can never reacquire a terminal
  if (pid < 0) return false;
  if (pid > 0) ::_exit(0);
  int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    ::dup2(null, STDIN_FILENO);
    ::dup2(null, STDOUT_FILENO);
    if (hs::log::fd() != STDERR_FILENO) ::dup2(null, STDERR_FILENO);
    if (null > STDERR_FILENO) ::close(null);
  }
  return ::chdir("/") == 0;
}

}  // namespace

int main(int argc, char** argv) {
  hs::StartInfo info;
  for (int i = 0; i < argc; ++i) info.argv.emplace_back(argv[i]);
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  info.exePath = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string(argv[0]);

  hs::Config cfg;
  std::string err;
  switch (hs::parseArgs(argc, argv, &cfg, &err)) {
    case hs::ArgsResult::kHelp:
      std::fputs(hs::usageText(), stdout);
      return 0;
    case hs::ArgsResult::kVersion:
      std::puts(kVersion);
      return 0;
    case hs::ArgsResult::kError:
      return fail(err);
    case hs::ArgsResult::kOk:
      break;
  }
  std::string problem = hs::prepareConfig(&cfg);
  if (!problem.empty()) return fail(problem);
  // A reload re-parses the original command line: point it at the absolute config path.
  for (size_t i = 1; i + 1 < info.argv.size(); ++i) {
    if (info.argv[i] == "-c" || info.argv[i] == "--config") info.argv[i + 1] = cfg.configFile;
  }
  if (!hs::resolvePrivileges(cfg.user, &info.privileges, &err)) return fail(err);
  if (cfg.dumpConfig && !cfg.configFile.empty()) {
    std::string text;
    std::vector<hs::ConfNode> tree;
    if (!hs::readConfFile(cfg.configFile, &text, &err) ||
        !hs::parseConfTree(text, cfg.configFile, &tree, &err)) {
      return fail(err);
    }
    std::printf("# configuration file %s, includes expanded:\n%s", cfg.configFile.c_str(),
                hs::printConfTree(tree).c_str());
  }
  if (cfg.testOnly) {
    std::printf("HttpServer: configuration%s%s is ok\n", cfg.configFile.empty() ? "" : " ",
                cfg.configFile.c_str());
    return 0;
  }
  if (!hs::log::open(cfg.errorLog, cfg.logLevel)) {
    return fail("cannot open the error log " + cfg.errorLog + ": " + std::strerror(errno));
  }
  raiseFdLimit(cfg);
  hs::UniqueFd listenFd = inheritedListenFd();
  if (!listenFd) {
    listenFd = hs::listenTcp(cfg.ip, cfg.port, 4096, &err);
    if (!listenFd) return fail(err);
  }
  if (cfg.daemon && !daemonize()) return fail(std::string("daemonizing failed: ") + std::strerror(errno));
  if (!cfg.daemon) {
    bool v6 = cfg.ip.find(':') != std::string::npos;
    std::printf("HttpServer: listening on http://%s%s%s:%u/ (%d workers, root %s)\n", v6 ? "[" : "",
                cfg.ip.c_str(), v6 ? "]" : "", cfg.port, cfg.procs, cfg.root.c_str());
    std::fflush(stdout);
  }
  hs::initProcTitle(argc, argv);
  hs::Master master(std::move(cfg), std::move(listenFd), std::move(info));
  return master.run();
}
