// The application pools the master runs (`app NAME { ... }`), supervisor's fcgi-program in the
// master: for each app one listening unix socket (a private one by default) and `processes`
// children of `command`, each with that socket on fd 0 (FCGI_LISTENSOCK_FILENO), stdout on
// /dev/null and stderr on a pipe the master reads and logs line by line as "app NAME: ...".
// Children that exit are logged and replaced, with the same crash-loop back-off as the workers.
//
// An app runs in generations. A new one starts when a reload changes the app's block, or when the
// app has served about `max_requests` requests per process: its socket is bound beside the
// running one and renamed over it (or bound at the new path), its processes start, and only then
// does the old generation retire. A retiring generation gets SIGTERM once no request is in flight
// on it (AppStats::busy) and, when its socket path is no longer configured, once the workers that
// knew that path are gone; so no request is cut off by a replacement.
//
// Owns the sockets, the pipes, the private directory and the children; borrows the event loop and
// the shared counters (one AppStats slot per app).
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
#include "SharedState.h"
#include "UniqueFd.h"

namespace hs {

class AppPool {
 public:
  // An app's stderr pipe is registered in `loop` with the tag `tag | app slot`; its counters are
  // shared->apps[slot].
  AppPool(EventLoop* loop, uint64_t tag, SharedState* shared);
  AppPool(const AppPool&) = delete;
  AppPool& operator=(const AppPool&) = delete;
  ~AppPool();  // unlinks the sockets it created and the private directory

  // Creates every app's socket and starts its processes. `workers` are the workers' privileges:
  // the sockets are made reachable for them, and an app without `user` runs as them. Returns
  // false (logged) when a socket cannot be created; a failed fork is retried later.
  bool start(std::vector<AppSpec> apps, const Privileges& workers);
  // A reload's apps: an unchanged one keeps running untouched, a changed one starts a new
  // generation, a removed one retires, an added one starts. `workerGeneration` is the workers'
  // generation that knows the running configuration: a retired socket path stays served until no
  // worker of that generation or an older one is left. What cannot start is logged, and the app
  // keeps its running generation.
  void reload(std::vector<AppSpec> apps, const Privileges& workers, uint32_t workerGeneration);

  // Every app's name -> socket path, and its processes (`sizes`).
  void addresses(std::map<std::string, std::string>* paths,
                 std::map<std::string, int>* sizes) const;

  // The stderr pipe of the app in `slot` is readable.
  void onStderr(size_t slot);
  // A child was reaped: true if it was an app process (logged and, unless stopping or retired,
  // replaced).
  bool onExit(pid_t pid, int status);
  // Starts what the back-off delayed, recycles apps past max_requests, and stops retired
  // generations whose requests are done. `oldestWorkerGeneration` is that of the oldest worker
  // alive (UINT32_MAX when none is). nextWakeMs() is INT64_MAX when nothing is pending.
  void tick(int64_t now, uint32_t oldestWorkerGeneration);
  int64_t nextWakeMs(int64_t now) const;

  // No more respawns; `sig` (SIGTERM) to every child.
  void stop(int sig);
  void signalAll(int sig);
  bool stopping() const { return stopping_; }
  size_t running() const;  // live children, every generation
  size_t missing() const;  // processes the current generations want but do not have running
  size_t size() const;     // apps configured

 private:
  struct App;
  struct Generation;
  bool addApp(AppSpec spec);
  bool startGeneration(App* app, uint32_t waitWorkers);
  bool socketPathFor(const App& app, std::string* path);
  bool openSocket(App* app, Generation* g, bool replace);
  void retire(App* app, Generation* g, uint32_t waitWorkers);
  void recycleDue(App* app);
  void stopRetired(App* app, int64_t now, uint32_t oldestWorkerGeneration);
  void forget(size_t slot);
  void spawn(App* app, Generation* g, size_t slot);
  [[noreturn]] void becomeApp(const App& app, const Generation& g);
  void flushLine(App* app, std::string_view line);
  void publish(App* app);

  EventLoop* loop_;
  uint64_t tag_;
  SharedState* shared_;
  Privileges workers_;                      // the workers': they must reach the sockets
  std::string privateDir_;                  // "" until a private socket was needed
  std::vector<std::unique_ptr<App>> apps_;  // by slot; nullptr: free
  bool stopping_ = false;
};

}  // namespace hs
