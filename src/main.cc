// HttpServer entry point: argv -> Config -> checks -> listening sockets -> Master::run().
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "BinaryUpgrade.h"
#include "Config.h"
#include "ConfigCheck.h"
#include "Log.h"
#include "Master.h"
#include "ProcTitle.h"
#include "Socket.h"
#include "Systemd.h"

// Installed paths, set by the Makefile from PREFIX (these are its defaults).
#ifndef HS_CONFIG_FILE
#define HS_CONFIG_FILE "/usr/local/etc/HttpServer/HttpServer.conf"
#endif
#ifndef HS_ERROR_LOG
#define HS_ERROR_LOG "/usr/local/var/log/HttpServer/error.log"
#endif
#ifndef HS_DOC_DIR
#define HS_DOC_DIR "/usr/local/share/doc/HttpServer"
#endif

namespace {

constexpr const char* kVersion = "HttpServer 1.0.0";
constexpr const char* kFilesHelp = "\nWithout arguments, HttpServer reads " HS_CONFIG_FILE
                                   " (as -c FILE).\n"
                                   "With --daemon and no --error-log, errors go to " HS_ERROR_LOG
                                   ".\n"
                                   "An annotated example configuration is " HS_DOC_DIR
                                   "/HttpServer.conf.example;\n"
                                   "see also HttpServer(8).\n";

int fail(const std::string& msg) {
  std::fprintf(stderr, "HttpServer: %s\n", msg.c_str());
  return 1;
}

hs::StartInfo startInfo(int argc, char** argv) {
  hs::StartInfo info;
  for (int i = 0; i < argc; ++i) info.argv.emplace_back(argv[i]);
  char exe[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  info.exePath = n > 0 ? std::string(exe, static_cast<size_t>(n)) : std::string(argv[0]);
  info.daemonErrorLog = HS_ERROR_LOG;
  return info;
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

int gReadyFd = -1;  // the daemon's end of the pipe its launching process waits on

void reportReady() {
  char ok = 1;
  if (gReadyFd >= 0 && ::write(gReadyFd, &ok, 1) == 1) {
  }
  ::close(gReadyFd);
  gReadyFd = -1;
}

// Detaches from the terminal and session. The launching process waits until the master reports
// ready (exit 0) or exits first (exit 1), so a start-up failure is never reported as success.
bool daemonize() {
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return false;
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid > 0) {
    ::close(ready[1]);
    char ok = 0;
    ssize_t n;
    while ((n = ::read(ready[0], &ok, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1)
      std::fprintf(stderr, "HttpServer: the server exited during start-up; see its error log\n");
    ::_exit(n == 1 ? 0 : 1);
  }
  ::close(ready[0]);
  gReadyFd = ready[1];
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

// Parses the command line into *cfg and checks it against the system. Returns -1 when the server
// should start, else the exit status (-h, -V, -t, or a problem, printed one line each).
int configure(hs::StartInfo* info, hs::Config* cfg) {
  std::vector<char*> argv;
  for (std::string& a : info->argv) argv.push_back(a.data());
  std::string err;
  // Without -c and <ip> <port> <procs> <conns>: the installed configuration, as nginx reads
  // /etc/nginx/nginx.conf.
  switch (hs::parseArgs(static_cast<int>(argv.size()), argv.data(), cfg, &err, HS_CONFIG_FILE)) {
    case hs::ArgsResult::kHelp:
      std::fputs(hs::usageText(), stdout);
      std::fputs(kFilesHelp, stdout);
      return 0;
    case hs::ArgsResult::kVersion:
      std::puts(kVersion);
      return 0;
    case hs::ArgsResult::kError:
      if (err.starts_with("cannot open config file '" HS_CONFIG_FILE "'")) {
        err += " (started without -c and without <ip> <port> <procs> <conns>; see --help)";
      }
      return fail(err);
    case hs::ArgsResult::kOk:
      break;
  }
  hs::prepareConfig(cfg, info->daemonErrorLog);
  // A reload re-parses the original command line: point it at the absolute config path.
  bool named = false;
  for (size_t i = 1; i < info->argv.size(); ++i) {
    std::string& a = info->argv[i];
    if ((a == "-c" || a == "--config") && i + 1 < info->argv.size()) {
      info->argv[++i] = cfg->configFile;
      named = true;
    } else if (a.starts_with("--config=")) {
      a = "--config=" + cfg->configFile;
      named = true;
    }
  }
  if (!named && !cfg->configFile.empty())
    info->argv.insert(info->argv.end(), {"-c", cfg->configFile});
  if (!hs::resolvePrivileges(cfg->user, &info->privileges, &err)) return fail(err);
  if (cfg->dumpConfig && !cfg->configFile.empty()) {
    std::string text;
    std::vector<hs::ConfNode> tree;
    if (!hs::readConfFile(cfg->configFile, &text, &err) ||
        !hs::parseConfTree(text, cfg->configFile, &tree, &err)) {
      return fail(err);
    }
    std::printf("# configuration file %s, includes expanded:\n%s", cfg->configFile.c_str(),
                hs::printConfTree(tree).c_str());
  }
  std::vector<std::string> warnings;
  std::vector<std::string> problems = hs::checkConfig(*cfg, info->privileges, &warnings);
  for (const std::string& w : warnings) fail("warning: " + w);
  for (const std::string& p : problems) fail(p);
  if (!problems.empty()) return 1;
  if (cfg->testOnly) {
    std::printf("HttpServer: configuration%s%s is ok\n", cfg->configFile.empty() ? "" : " ",
                cfg->configFile.c_str());
    return 0;
  }
  return -1;
}

void printBanner(const hs::Config& cfg, const std::vector<hs::ListenSocket>& listeners) {
  std::string urls;
  for (const hs::ListenSocket& l : listeners) {
    urls += (urls.empty() ? "http://" : ", http://") + hs::socketName(l.fd.get()) + "/";
  }
  std::printf("HttpServer: listening on %s (%d %s, root %s)\n", urls.c_str(), cfg.procs,
              cfg.procs == 1 ? "worker" : "workers", cfg.root.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  hs::StartInfo info = startInfo(argc, argv);
  hs::Config cfg;
  if (int status = configure(&info, &cfg); status >= 0) return status;
  if (!hs::log::open(cfg.errorLog, cfg.logLevel)) {
    return fail("cannot open the error log " + cfg.errorLog + ": " + std::strerror(errno));
  }
  raiseFdLimit(cfg);
  // A master started by a binary upgrade runs where its parent runs: it must not daemonize
  // again (its parent would see it exit, and the pid files would depend on timing).
  std::vector<hs::UniqueFd> inherited = hs::takeUpgradeListeners();
  bool upgraded = !inherited.empty();
  if (!upgraded) inherited = hs::takeSystemdListeners();
  hs::ListenTable table;
  std::vector<hs::ListenSocket> listeners;
  std::string err;
  if (!hs::listenTable(cfg, &table, &err)) return fail(err);
  std::vector<std::string> unused;
  std::vector<hs::ListenSocket> adopted = hs::adoptListeners(std::move(inherited), table, &unused);
  for (const std::string& u : unused) {
    LOG_WARN("closing the inherited socket %s: no listen address of the configuration", u.c_str());
  }
  if (!hs::openListeners(table, adopted, &listeners, &err)) return fail(err);
  adopted.clear();  // each has its duplicate in listeners
  bool detach = cfg.daemon && !upgraded;
  if (detach && !daemonize()) {
    return fail(std::string("daemonizing failed: ") + std::strerror(errno));
  }
  if (!detach) printBanner(cfg, listeners);
  hs::initProcTitle(argc, argv);
  hs::Master master(std::move(cfg), std::move(listeners), std::move(table), std::move(info));
  return master.run(detach ? reportReady : nullptr);
}
