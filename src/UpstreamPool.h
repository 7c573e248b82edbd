// A worker's connections to its upstreams (FastCGI applications now, HTTP backends later): per
// address, connections kept open between requests and used by one request at a time, a bounded
// number of them, a bounded queue of requests waiting for one, and the connect and queue timeouts.
// What travels on a connection is the user's business (UpstreamUser); the pool owns the sockets,
// their epoll registrations and their timers. Borrows the worker's event loop, timers and clock.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "EventLoop.h"
#include "SharedState.h"
#include "TimerHeap.h"
#include "UniqueFd.h"

namespace hs {

class UpstreamConn;
class WorkerClock;

// The request side of an upstream exchange. Each call hands control back to the user.
class UpstreamUser {
 public:
  // A connection is ready for this request (fresh or kept open; `reused` says which).
  virtual void onUpstreamReady(UpstreamConn* c, bool reused) = 0;
  // An epoll event on the connection the user holds.
  virtual void onUpstreamEvent(UpstreamConn* c, uint32_t events) = 0;
  // The deadline the user set on its connection passed.
  virtual void onUpstreamTimeout(UpstreamConn* c) = 0;
  // No connection: 502 (connect failed), 503 (queue full or queue timeout), 504 (connect timeout).
  virtual void onUpstreamFailed(int status) = 0;

 protected:
  ~UpstreamUser() = default;
};

struct UpstreamLimits {
  uint32_t maxConns = 1;  // connections to this address from this worker
  uint32_t queue = 64;    // requests that may wait for one; beyond that 503 at once
  int queueTimeoutMs = 10'000;
  int connectTimeoutMs = 60'000;
  bool keepConns = true;          // keep connections open between requests
  uint32_t maxIdle = UINT32_MAX;  // of those, at most this many idle ones (an upstream's keepalive)
};

class Upstream;

class UpstreamConn {
 public:
  int fd() const { return fd_.get(); }
  Upstream* upstream() const { return upstream_; }
  // The user's deadline (read/send timeouts); 0 cancels it.
  void setDeadline(int64_t atMs);

 private:
  friend class UpstreamPool;
  friend class Upstream;
  UniqueFd fd_;
  Upstream* upstream_ = nullptr;
  UpstreamUser* user_ = nullptr;
  TimerNode timer_;
  uint32_t slot_ = 0;
  uint32_t generation_ = 0;
  uint32_t appGeneration_ = 0;  // the app's generation it was opened under
  bool busy_ = false;           // counted in the app's AppStats::busy
  bool connecting_ = false;
  bool registered_ = false;
  class UpstreamPool* pool_ = nullptr;
};

class UpstreamPool {
 public:
  // Events of the pool's sockets carry `tagBase | slot | generation << 32`; timers carry
  // `timerBase | slot` as their owner. `capacity` bounds all upstream connections of the worker.
  UpstreamPool(EventLoop* loop, TimerHeap* timers, const WorkerClock* clock, uint64_t tagBase,
               uint32_t timerBase, uint32_t capacity);
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // Adds an address: "unix:/path" or "HOST:PORT" (numeric IPv4/IPv6, IPv6 in brackets). Returns
  // nullptr when it does not parse. The pool owns the Upstream.
  Upstream* add(const std::string& address, const UpstreamLimits& limits);
  // The upstream is an app the master runs: its counters (requests, busy, queued, failures) go to
  // `stats`, and a kept connection opened under an older generation of the app is closed instead
  // of reused (see AppStats).
  void setAppStats(Upstream* u, AppStats* stats);
  // The address as configured ("unix:/path", "HOST:PORT"), for $upstream_addr.
  static const std::string& address(const Upstream* u);
  // The request `u` was for is answered by the gateway with 502, 503 or 504.
  static void countFailure(Upstream* u);

  // Asks for a connection for `user`: onUpstreamReady now or later, or onUpstreamFailed.
  // `connectTimeoutMs` > 0 replaces the upstream's own limit for a connect this request starts
  // (a location's timeout for the server of a group). `fresh`: not one kept open (a retry after a
  // kept one failed).
  void acquire(Upstream* u, UpstreamUser* user, int connectTimeoutMs = 0, bool fresh = false);
  // The user is done with c. `reusable`: the exchange ended cleanly, keep it open.
  void release(UpstreamConn* c, bool reusable);
  // The user gives up waiting in the queue (its client went away).
  void cancelWait(Upstream* u, UpstreamUser* user);

  void onEvent(uint64_t tag, uint32_t events);
  void onTimer(uint32_t owner);
  int64_t nowMs() const;
  void schedule(UpstreamConn* c, int64_t atMs);

 private:
  void startConnect(Upstream* u, UpstreamUser* user, int connectTimeoutMs);
  void handOver(UpstreamConn* c, UpstreamUser* user, bool reused);
  void closeConn(UpstreamConn* c, bool serve = true);
  void serveQueue(Upstream* u);
  bool claim(UpstreamConn* c);
  void unclaim(UpstreamConn* c);
  static void dequeued(Upstream* u);

  EventLoop* loop_;
  TimerHeap* timers_;
  const WorkerClock* clock_;
  uint64_t tagBase_;
  uint32_t timerBase_;
  std::unique_ptr<UpstreamConn[]> conns_;
  uint32_t capacity_;
  std::vector<uint32_t> free_;
  std::vector<std::unique_ptr<Upstream>> upstreams_;
};

}  // namespace hs
