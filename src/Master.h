// The master process cycle (nginx's ngx_master_process_cycle): one epoll loop over the listening
// sockets, a signalfd and the workers' channels, which turns signals into stop, reload, binary
// upgrade, resizing and log reopening. Dispatcher accepts and passes connections, Supervisor
// runs the workers, AppPool the FastCGI applications, BinaryUpgrade starts a new binary. Owns the
// configuration, the shared counters and those three.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "AppPool.h"
#include "BinaryUpgrade.h"
#include "Config.h"
#include "Dispatcher.h"
#include "EventLoop.h"
#include "Listeners.h"
#include "Privileges.h"
#include "SharedState.h"
#include "Supervisor.h"
#include "UniqueFd.h"

namespace hs {

struct StartInfo {
  std::string exePath;            // this binary, for the binary upgrade (SIGUSR2)
  std::vector<std::string> argv;  // the original command line
  Privileges privileges;          // applied in each worker after it opened the root and logs
  std::string daemonErrorLog;     // the error log of --daemon without --error-log
};

class Master {
 public:
  // `listeners` serve the addresses of `table`, cfg's listen table.
  Master(Config cfg, std::vector<ListenSocket> listeners, ListenTable table, StartInfo info);
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Runs until every worker is gone after a stop. Returns the exit status. `ready` (may be null)
  // is called once the workers are started, or not at all when set-up fails.
  int run(void (*ready)() = nullptr);

 private:
  enum class Stop : uint8_t { kNone, kFast, kGraceful };

  bool setup();
  int nextTimeoutMs() const;
  void onSignal();
  void reap();
  void checkDeadlines();
  void startStop(Stop how);
  void beginDrain(bool quit);
  void finishDrain();
  void publishAppHealth();
  void reload();
  bool reloadConfig();
  bool reloadListeners(const Config& next, std::vector<ListenSocket>* sockets,
                       std::shared_ptr<const ListenTable>* table, std::string* err);
  void resize(int delta);
  void upgradeBinary();
  void reopenLogs();
  void prepareLogFiles();
  std::string listenAddresses() const;

  Config cfg_;
  StartInfo info_;
  EventLoop loop_;
  UniqueFd signalFd_;
  SharedState* shared_;
  Supervisor supervisor_;
  Dispatcher dispatcher_;
  BinaryUpgrade upgrade_;
  AppPool apps_;
  Stop stop_ = Stop::kNone;
  int64_t stopDeadlineMs_ = 0;
  bool killed_ = false;          // SIGKILL sent at the stop deadline
  bool draining_ = false;        // QUIT or WINCH began a drain (the health path answers 503)
  bool quitAfterDrain_ = false;  // it was QUIT: stop gracefully once drained
  int64_t drainUntilMs_ = -1;    // when accepting stops; -1: not pending
};

}  // namespace hs
