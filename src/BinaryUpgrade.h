// Binary upgrade (SIGUSR2, as nginx does it) and the pid file it renames. The running master
// renames PATH to PATH.oldbin and starts the new binary with the same arguments and the listening
// sockets in HTTPSERVER_LISTEN_FD; a master started that way takes them over (and must not
// daemonize again: it already runs where its parent runs). If the new binary exits, PATH.oldbin
// is renamed back. Owns nothing but the new master's pid.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "Listeners.h"
#include "UniqueFd.h"

namespace hs {

// The variable naming the inherited listening sockets ("5" or "5,6").
constexpr const char* kListenFdEnv = "HTTPSERVER_LISTEN_FD";

// Listening sockets handed over by a binary upgrade, close-on-exec again; empty when the
// variable is absent or names no open fd. Removes the variable.
std::vector<UniqueFd> takeUpgradeListeners();

// Writes this process's pid to `path` ("" = no pid file); logs a failure.
void writePidFile(const std::string& path);
// Removes `path` and `path`.oldbin, each only if it names this process (after an upgrade the
// file names the new master).
void removePidFile(const std::string& path);

class BinaryUpgrade {
 public:
  // Renames the pid file to .oldbin, then forks and execs `exe` with `argv`, passing copies of the
  // listening sockets. Returns false (and logs) when the fork failed.
  bool start(const std::string& exe, const std::vector<std::string>& argv,
             const std::vector<ListenSocket>& listeners, const std::string& pidFile);
  // True when `pid` is the new master, which has exited: logs it and renames .oldbin back.
  bool onExit(pid_t pid, int status, const std::string& pidFile);
  bool inProgress() const { return pid_ != 0; }

 private:
  pid_t pid_ = 0;
};

}  // namespace hs
