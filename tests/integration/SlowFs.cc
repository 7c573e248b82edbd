#include "SlowFs.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string_view>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr const char* kPython = "/usr/bin/python3";

std::string scriptPath() {
  // Beside the test sources, found from the site root's repository (HTTPSERVER_WWW is <repo>/www).
  return siteRoot() + "/../tests/integration/slowfs.py";
}

bool isMounted(const std::string& mountpoint) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string needle = " " + mountpoint + " ";
  while (std::getline(in, line)) {
    if (line.find(needle) != std::string::npos && line.find("slowfs") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string SlowFs::unavailable() {
  if (::access("/dev/fuse", R_OK | W_OK) != 0) return "no usable /dev/fuse";
  if (::access("/usr/bin/fusermount", X_OK) != 0 && ::access("/bin/fusermount", X_OK) != 0) {
    return "fusermount is missing (package fuse)";
  }
  RunResult r = runProgram(kPython, {"-c", "import fuse"}, 10000);
  if (r.timedOut || r.exitCode != 0) return "python3-fuse is missing";
  return "";
}

bool SlowFs::mount(const std::string& source, const std::string& mountpoint, int delayMs,
                   std::string* why) {
  unmount();
  pid_t pid = ::fork();
  if (pid < 0) {
    *why = "fork failed";
    return false;
  }
  if (pid == 0) {
    std::string log;
    int fd = openServerLog(&log);
    prepareChild(fd, fd);
    execOrDie(kPython, {scriptPath(), source, mountpoint, std::to_string(delayMs)});
  }
  pid_ = pid;
  mountpoint_ = mountpoint;
  bool up = waitFor(
      [&] { return isMounted(mountpoint) || ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 10000);
  if (!up || !isMounted(mountpoint)) {
    *why = "slowfs did not mount " + mountpoint;
    unmount();
    return false;
  }
  return true;
}

void SlowFs::unmount() {
  if (!mountpoint_.empty() && isMounted(mountpoint_)) {
    // Lazy: a server still holding a file there must not keep the mount alive.
    runProgram("/bin/fusermount", {"-u", "-z", mountpoint_}, 10000);
  }
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    if (!waitGone(pid_, 5000)) ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
  mountpoint_.clear();
}

}  // namespace hs::integration
