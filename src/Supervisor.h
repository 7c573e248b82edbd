// Supervision of the worker processes (nginx's ngx_process.c): fork, generations, retirement,
// reaping and respawn with a crash-loop back-off. Owns every WorkerProc (one unique_ptr each, with
// its channel) and the SharedState slots they report in; borrows the event loop, the shared
// counters, the configuration and the privileges (all owned by Master).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "Backoff.h"
#include "Config.h"
#include "EventLoop.h"
#include "Privileges.h"
#include "SharedState.h"
#include "WorkerProc.h"

namespace hs {

constexpr int kMaxWorkers = 256;

class Supervisor {
 public:
  using Workers = std::vector<std::unique_ptr<WorkerProc>>;

  // A worker's channel is registered in `loop` with the tag `channelTag | pid`.
  Supervisor(EventLoop* loop, SharedState* shared, uint64_t channelTag, const Config* cfg,
             const Privileges* privileges);
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  const Workers& workers() const { return workers_; }
  const Workers* workerList() const { return &workers_; }
  uint32_t generation() const { return generation_; }
  // The listen table of the configuration that workers forked from now on run.
  void setListenTable(std::shared_ptr<const ListenTable> table) { listens_ = std::move(table); }
  WorkerProc* byPid(pid_t pid);

  // Forks worker `index` of the current generation. On failure, retries in 1 s.
  void spawn(int index);
  // Reload: every current worker retires (kRetire) and a new generation of `procs` starts.
  void newGeneration(int procs);
  // The current worker with this index retires, and no delayed start of it stays pending.
  void retireIndex(int index);

  // After w exited (reaped by the master, its channel drained): its counters are folded into the
  // totals, its slot is freed, and a current worker with index < procs is replaced, unless the
  // server is stopping. w is destroyed.
  void onExit(WorkerProc* w, int status, int procs);
  // Starts what the back-off delayed, once due. nextRespawnMs() is INT64_MAX when nothing is.
  void respawnDue(int64_t now, int procs);
  int64_t nextRespawnMs() const;

  // Stopping: no more respawns. Fast: SIGTERM. Graceful: kQuit (SIGQUIT if the channel refuses).
  void stop(bool fast);
  void signalAll(int sig);

 private:
  [[noreturn]] void becomeWorker(const WorkerProc& w, UniqueFd workerEnd);
  void retire(WorkerProc* w);
  void logExit(const WorkerProc& w, int status) const;

  EventLoop* loop_;
  SharedState* shared_;
  uint64_t channelTag_;
  const Config* cfg_;
  const Privileges* privileges_;
  std::shared_ptr<const ListenTable> listens_;
  Workers workers_;
  std::vector<int> freeSlots_;
  std::array<Backoff, kMaxWorkers> backoff_{};  // by worker index
  uint32_t generation_ = 1;
  bool stopping_ = false;
  bool fastStop_ = false;
};

}  // namespace hs
