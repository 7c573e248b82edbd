// A worker process: one epoll reactor serving the connections the master passes over its channel.
// The worker is the reactor only: it owns the event loop, the channel and signal fds, the timer
// heap, the connection pool and its eviction list, the I/O-state pool, the file cache, the access
// log, the handlers and the thread pool for blocking file work, and it runs the serve -> retire |
// quit lifecycle. What happens on one
// connection is Connection's business; what to answer is the handlers'.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "AccessLog.h"
#include "AccessLogs.h"
#include "Config.h"
#include "Connection.h"
#include "ConnectionEnv.h"
#include "EventLoop.h"
#include "EvictionList.h"
#include "FileCache.h"
#include "FreeListPool.h"
#include "GatewayTargets.h"
#include "HandlerTable.h"
#include "Privileges.h"
#include "ProxyTargets.h"
#include "RefusalLogger.h"
#include "RequestBody.h"
#include "RequestTarget.h"
#include "SharedState.h"
#include "Sites.h"
#include "SlotPool.h"
#include "ThreadPool.h"
#include "TimerHeap.h"
#include "UniqueFd.h"
#include "UpstreamGroups.h"
#include "UpstreamPool.h"
#include "WorkerClock.h"

namespace hs {

class Worker final : private ConnectionHost {
 public:
  // `channel` is the worker's end of its channel; `stats` its shared counters slot.
  Worker(const Config& cfg, UniqueFd channel, SharedState* shared, WorkerStats* stats,
         const Privileges& privileges);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until told to stop. Returns the process exit status.
  int run();

 private:
  bool setup();
  void onChannel();
  void onSignal();
  void adopt(int fd, uint16_t listenIndex);
  bool evictOldest();
  void expireTimers();
  void runPosted();
  void onPoolDone();
  void publishPool();
  int nextTimeoutMs() const;
  void beginRetire(Lifecycle next);
  bool done() const;

  // ConnectionHost
  void post(Connection* c) override;
  void handBack(Connection* c) override;
  void released(Connection* c) override;

  struct Posted {
    uint32_t slot;
    uint32_t generation;
  };

  const Config& cfg_;
  Privileges privileges_;
  UniqueFd channel_;
  UniqueFd signalFd_;
  SharedState* shared_;
  WorkerStats* stats_;
  EventLoop loop_;
  WorkerClock clock_;
  TimerHeap timers_;
  SlotPool<Connection> conns_;
  EvictionList eviction_;
  FreeListPool<IoState> ios_;
  FreeListPool<RequestBody> bodies_;
  UpstreamPool upstreams_;   // connections to FastCGI applications and HTTP upstreams
  UpstreamGroups groups_;    // the upstream blocks, their servers in upstreams_
  GatewayTargets gateways_;  // the roots of the fastcgi_pass locations
  ProxyTargets proxies_;     // the upstream addresses of the proxy_pass locations
  Sites sites_;              // the routes, and every root's fd and file cache
  std::unique_ptr<HandlerTable> handlers_;  // made once the sites are open
  std::unique_ptr<ThreadPool> pool_;        // --thread-pool N > 0: made after dropping privileges
  uint64_t poolPublished_ = 0;              // pool_->stats().submitted + done when last published
  AccessLogs accessLogs_;  // every access_log file of the configuration, each opened once
  RefusalLogger refusals_;
  HostMemo hosts_;  // recent Host values and their normalized length, for every connection
  ConnectionEnv env_;
  std::vector<Posted> posted_;  // connections to drive before the next wait (capacity reserved)
  Lifecycle lifecycle_ = Lifecycle::kServing;
  bool wasFull_ = false;
  bool stop_ = false;
  int64_t quitDeadlineMs_ = 0;
  char boundary_[24];  // multipart/byteranges boundary, random per worker
};

}  // namespace hs
