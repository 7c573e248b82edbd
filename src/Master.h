// The master process: owns the listen socket and one channel per worker, accepts connections and
// passes each to the least-loaded worker, and supervises the workers (respawn with back-off, fast
// and graceful stop, reload by generations, binary upgrade, resizing, log reopening).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "Config.h"
#include "Privileges.h"
#include "EventLoop.h"
#include "SharedState.h"
#include "UniqueFd.h"

namespace hs {

struct StartInfo {
  std::string exePath;            // this binary, for the binary upgrade (SIGUSR2)
  std::vector<std::string> argv;  // the original command line
  Privileges privileges;          // applied in each worker after it opened the root and logs
};

class Master {
 public:
  Master(Config cfg, UniqueFd listenFd, StartInfo info);
  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

  // Runs until every worker is gone after a stop. Returns the exit status.
  int run();

 private:
  struct WorkerProc {
    pid_t pid = 0;
    UniqueFd channel;
    int slot = -1;
    int index = 0;
    uint32_t generation = 0;
    bool retiring = false;
    bool channelOpen = false;
    int64_t startedMs = 0;
    uint64_t sent = 0;  // fds passed to it, ever (its load = live + sent - taken)
    int batch[64];      // fds accepted in this round, to go in one sendmsg
    int batchLen = 0;
  };
  enum class Stop : uint8_t { kNone, kFast, kGraceful };

  bool setup();
  int64_t now() const;
  int nextTimeoutMs() const;
  void spawn(int index);
  [[noreturn]] void becomeWorker(WorkerProc& w, UniqueFd workerEnd);
  void onSignal();
  void onChannel(WorkerProc* w);
  void reap();
  void acceptBatch();
  WorkerProc* leastLoaded();
  WorkerProc* evictionCandidate();
  uint64_t load(const WorkerProc& w) const;
  void sendBatches();
  void drainPending();
  void roomMayHaveFreed();
  void pauseAccepting(bool pause);
  void startStop(Stop how);
  void reload();
  void retire(WorkerProc& w);
  void upgradeBinary();
  void checkDeadlines();
  void writePidFile();
  void removePidFile();
  void reopenLogs();
  void prepareLogFiles();
  void resize(int delta);
  void onWorkerExit(WorkerProc* w, int status);
  WorkerProc* byPid(pid_t pid);
  int currentWorkers() const;

  Config cfg_;
  UniqueFd listen_;
  StartInfo info_;
  EventLoop loop_;
  UniqueFd signalFd_;
  SharedState* shared_ = nullptr;
  std::vector<WorkerProc*> workers_;
  std::vector<int> freeSlots_;
  std::deque<int> pending_;  // handed-back connections waiting for a free slot
  std::vector<int> toClose_;  // fds passed in one sendBatches() round (capacity kept)
  uint32_t generation_ = 1;
  size_t rotor_ = 0;  // where leastLoaded() starts scanning
  bool paused_ = false;
  bool listening_ = false;
  Stop stop_ = Stop::kNone;
  int64_t stopDeadlineMs_ = 0;
  int64_t retryAcceptMs_ = 0;  // accept paused after EMFILE/ENFILE until then
  bool killed_ = false;         // SIGKILL sent at the stop deadline
  pid_t upgradePid_ = 0;
  // Crash-loop back-off per worker index.
  std::vector<int> fastFailures_;
  std::vector<int64_t> respawnAtMs_;  // 0: no respawn pending
  std::vector<uint32_t> restarts_;
};

}  // namespace hs
