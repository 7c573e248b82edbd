// Accept and dispatch, the master's hot path: accepts on the listening sockets, gives each new
// connection to the least-loaded worker, passes fds in batches of up to kMaxFdsPerMessage, queues
// what could not be passed (and the workers' hand-backs) until a worker has room, and takes the
// listening sockets out of the epoll set while every worker is full.
// Owns the listening sockets and the pending fds; borrows the event loop, the shared counters and
// the worker list (Supervisor owns the workers).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "EventLoop.h"
#include "Listeners.h"
#include "SharedState.h"
#include "UniqueFd.h"
#include "WorkerProc.h"

namespace hs {

class Dispatcher {
 public:
  using Workers = std::vector<std::unique_ptr<WorkerProc>>;
  // Bounded so signals and channels stay responsive under a connection storm; the listening
  // sockets are level-triggered, so the rest wake the next round.
  static constexpr int kMaxAcceptsPerWakeup = 512;

  // Listening socket i is registered in `loop` with the tag `listenTag | i`. `table` is the listen
  // table the sockets' indexes refer to (the current configuration's).
  Dispatcher(EventLoop* loop, SharedState* shared, const Workers* workers,
             std::vector<ListenSocket> listeners, std::shared_ptr<const ListenTable> table,
             uint64_t listenTag);
  ~Dispatcher();  // closes the connections still pending
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // A worker holds at most `conns` connections (it changes on reload).
  void setCapacity(int conns) { conns_ = static_cast<uint64_t>(conns); }
  // Starts watching the listening sockets.
  void start() { pause(false); }
  // Listening socket i is readable: accept a round and pass the fds.
  void onListenReady(size_t i);
  // Reads every message waiting on w's channel: hand-backs join the pending queue. At EOF the
  // channel is taken out of the epoll set and no longer used.
  void onChannel(WorkerProc* w);
  // Something may have freed room (a worker's kSlotFree, an exit, a hand-back, the poll):
  // pending connections go first, then the listening sockets come back if a worker has room.
  void roomMayHaveFreed();
  // Timers: the EMFILE back-off, pending retries and the poll while paused. nextWakeMs() is the
  // latest time to call onTick() (INT64_MAX: none).
  int64_t nextWakeMs(int64_t now) const;
  void onTick(int64_t now);
  // Reload: serves `listeners` (indexes into `table`) from now on and closes the previous
  // sockets; an address both serve stays open through the new socket's duplicate. Pending
  // connections are re-indexed by address; those whose address is gone are closed.
  void setListeners(std::vector<ListenSocket> listeners, std::shared_ptr<const ListenTable> table);
  // Stop: closes the listening sockets (so the port is free once no process holds them) and the
  // pending connections. Hand-backs still arriving are passed on to the remaining workers.
  void closeListeners();

  const std::vector<ListenSocket>& listeners() const { return listeners_; }
  const std::shared_ptr<const ListenTable>& table() const { return table_; }
  bool accepting() const { return watching_; }
  size_t pending() const { return pending_.size(); }

  // The worker with the fewest connections below capacity, scanning from a rotating start so equal
  // loads take turns; when all are full, an eviction candidate; else nullptr.
  WorkerProc* leastLoaded(int64_t now);
  // live + in flight in the channel + queued in this round.
  uint64_t load(const WorkerProc& w) const;

 private:
  WorkerProc* evictionCandidate(int64_t now);
  struct Pending {
    int fd;
    uint16_t listen;  // index into table_
  };

  bool acceptOne(const ListenSocket& l, int64_t now);
  void queue(WorkerProc* w, Pending p);
  bool toCurrent(const WorkerProc& w, uint16_t* index) const;
  void sendBatches();
  void drainPending(int64_t now);
  void pause(bool pause);

  EventLoop* loop_;
  SharedState* shared_;
  const Workers* workers_;
  std::vector<ListenSocket> listeners_;
  std::shared_ptr<const ListenTable> table_;
  uint64_t listenTag_;
  uint64_t conns_ = 1;
  std::deque<Pending> pending_;  // connections waiting for a worker with room
  std::vector<int> toClose_;     // fds passed in one sendBatches() round (capacity kept)
  size_t rotor_ = 0;             // where leastLoaded() starts scanning
  bool watching_ = false;        // the listening sockets are in the epoll set
  bool paused_ = true;           // every worker was full (or start() not called yet)
  int64_t retryAcceptMs_ = 0;    // accepts paused after EMFILE/ENFILE until then
};

}  // namespace hs
