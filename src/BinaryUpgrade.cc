#include "BinaryUpgrade.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "Log.h"

namespace hs {
namespace {

// The pid written in `path`, or 0.
pid_t readPid(const std::string& path) {
  char buf[24] = {};
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd || ::read(fd.get(), buf, sizeof buf - 1) <= 0) return 0;
  return static_cast<pid_t>(std::atoi(buf));
}

[[noreturn]] void execNewBinary(const std::string& exe, const std::vector<std::string>& args,
                                const std::vector<ListenSocket>& listeners) {
  std::string value;
  for (const ListenSocket& l : listeners) {
    int fd = ::dup(l.fd.get());  // a copy without FD_CLOEXEC crosses the exec
    if (!value.empty()) value += ',';
    value += std::to_string(fd);
  }
  ::setenv(kListenFdEnv, value.c_str(), 1);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(exe.c_str(), argv.data());
  LOG_SYSERR(errno, "execv(\"%s\") failed", exe.c_str());
  ::_exit(127);
}

}  // namespace

std::vector<UniqueFd> takeUpgradeListeners() {
  std::vector<UniqueFd> fds;
  const char* v = ::getenv(kListenFdEnv);
  if (v == nullptr) return fds;
  for (const char* p = v; *p != '\0';) {
    char* end = nullptr;
    long fd = std::strtol(p, &end, 10);
    if (end == p) break;
    if (fd >= 3 && fd <= INT32_MAX && ::fcntl(static_cast<int>(fd), F_GETFD) >= 0) {
      ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
      fds.emplace_back(static_cast<int>(fd));
    }
    p = *end == ',' ? end + 1 : end;
  }
  ::unsetenv(kListenFdEnv);
  return fds;
}

void writePidFile(const std::string& path) {
  if (path.empty()) return;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  char buf[24];
  int n = std::snprintf(buf, sizeof buf, "%d\n", static_cast<int>(::getpid()));
  if (!fd || ::write(fd.get(), buf, static_cast<size_t>(n)) != n) {
    LOG_SYSERR(errno, "writing the pid file %s failed", path.c_str());
  }
}

void removePidFile(const std::string& path) {
  if (path.empty()) return;
  for (const std::string& p : {path, path + ".oldbin"}) {
    if (readPid(p) == ::getpid()) ::unlink(p.c_str());
  }
}

bool BinaryUpgrade::start(const std::string& exe, const std::vector<std::string>& argv,
                          const std::vector<ListenSocket>& listeners, const std::string& pidFile) {
  if (!pidFile.empty()) ::rename(pidFile.c_str(), (pidFile + ".oldbin").c_str());
  pid_t pid = ::fork();
  if (pid < 0) {
    LOG_SYSERR(errno, "fork() for the binary upgrade failed");
    if (!pidFile.empty()) ::rename((pidFile + ".oldbin").c_str(), pidFile.c_str());
    return false;
  }
  if (pid == 0) execNewBinary(exe, argv, listeners);
  pid_ = pid;
  LOG_INFO(
      "binary upgrade: started %s as pid %d; send SIGQUIT to this master (pid %d) when it serves",
      exe.c_str(), pid, ::getpid());
  return true;
}

bool BinaryUpgrade::onExit(pid_t pid, int status, const std::string& pidFile) {
  if (pid_ == 0 || pid != pid_) return false;
  pid_ = 0;
  LOG_ERROR("the new binary (pid %d) exited with status %d; this master keeps serving", pid,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  if (!pidFile.empty()) ::rename((pidFile + ".oldbin").c_str(), pidFile.c_str());
  return true;
}

}  // namespace hs
