// The application pools the master runs (`app NAME { ... }`), supervisor's fcgi-program in the
// master: for each app one listening unix socket (a private one by default) and `processes`
// children of `command`, each with that socket on fd 0 (FCGI_LISTENSOCK_FILENO), stdout on
// /dev/null and stderr on a pipe the master reads and logs line by line as "app NAME: ...".
// Children that exit are logged and replaced, with the same crash-loop back-off as the workers.
// Owns the sockets, the pipes, the private directory and the children; borrows the event loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "AppConfig.h"
#include "Backoff.h"
#include "EventLoop.h"
#include "Privileges.h"
#include "UniqueFd.h"

namespace hs {

class AppPool {
 public:
  // An app's stderr pipe is registered in `loop` with the tag `tag | app index`.
  AppPool(EventLoop* loop, uint64_t tag);
  AppPool(const AppPool&) = delete;
  AppPool& operator=(const AppPool&) = delete;
  ~AppPool();  // unlinks the sockets it created and the private directory

  // Creates every app's socket and starts its processes. `workers` are the workers' privileges:
  // the sockets are made reachable for them, and an app without `user` runs as them. Returns
  // false (logged) when a socket cannot be created; a failed fork is retried later.
  bool start(std::vector<AppSpec> apps, const Privileges& workers);

  // The unix socket path of app `name`, or nullptr.
  const std::string* socketPath(std::string_view name) const;
  // Every app's name -> socket path, and its processes (`sizes`).
  void addresses(std::map<std::string, std::string>* paths,
                 std::map<std::string, int>* sizes) const;

  // The stderr pipe of app `index` is readable.
  void onStderr(size_t index);
  // A child was reaped: true if it was an app process (logged and, unless stopping, replaced).
  bool onExit(pid_t pid, int status);
  // Starts what the back-off delayed, once due. nextRespawnMs() is INT64_MAX when nothing is.
  void respawnDue(int64_t now);
  int64_t nextRespawnMs() const;

  // No more respawns; `sig` (SIGTERM) to every child.
  void stop(int sig);
  void signalAll(int sig);
  bool stopping() const { return stopping_; }
  size_t running() const;  // live children
  size_t size() const { return apps_.size(); }

 private:
  struct App;
  bool openSocket(App* app, const Privileges& workers);
  void spawn(App* app, size_t slot);
  [[noreturn]] void becomeApp(const App& app);
  void flushLine(App* app, std::string_view line);

  EventLoop* loop_;
  uint64_t tag_;
  std::string privateDir_;  // "" until a private socket was needed
  std::vector<std::unique_ptr<App>> apps_;
  bool stopping_ = false;
};

}  // namespace hs
