// What a Connection borrows from the worker that owns it: configuration, clock, lifecycle, timers,
// the eviction list, the I/O-state pool, counters (status page and metrics), the access log and the
// handlers, plus the few calls that go back to the worker (ConnectionHost). Declared here, below
// Connection, so that the connection never depends on Worker. All pointers are borrowed from the
// worker.
#pragma once

#include <cstdint>

namespace hs {

class AccessLog;
class AccessLogs;
class Connection;
class ErrorPages;
class EvictionList;
class HandlerSelector;
class HostMemo;
class LogFormat;
class RefusalLogger;
class ThreadPool;
class RequestBody;
class TimerHeap;
class WorkerClock;
struct Config;
struct RouteConfig;
struct IoState;
struct ResponseStats;
struct WorkerStats;
template <typename T>
class FreeListPool;

// The worker's phase: serving; retiring (a reload: idle connections are handed back to the master
// for the new generation); quitting (a graceful stop: answers carry Connection: close).
enum class Lifecycle : uint8_t { kServing, kRetiring, kQuitting };

// On a graceful stop, an idle keep-alive connection is closed once it has been idle this long.
constexpr int64_t kQuitIdleGraceMs = 300;

class ConnectionHost {
 public:
  // Runs c->drive() before the reactor waits again (an asynchronous handler has news for it).
  virtual void post(Connection* c) = 0;
  // Passes c's socket to the master, which re-dispatches it; c then closes its own copy.
  virtual void handBack(Connection* c) = 0;
  // c has closed: its pool slot is free.
  virtual void released(Connection* c) = 0;

 protected:
  ~ConnectionHost() = default;
};

struct ConnectionEnv {
  const Config* cfg = nullptr;
  const WorkerClock* clock = nullptr;
  const Lifecycle* lifecycle = nullptr;
  TimerHeap* timers = nullptr;
  EvictionList* eviction = nullptr;
  FreeListPool<IoState>* ios = nullptr;
  WorkerStats* stats = nullptr;
  AccessLog* accessLog = nullptr;  // the top-level access log (may be null: off)
  HandlerSelector* handlers = nullptr;
  const ErrorPages* errors = nullptr;
  ConnectionHost* host = nullptr;
  ResponseStats* responses = nullptr;  // the worker's metrics slot
  RefusalLogger* refusals = nullptr;   // error-log lines for refused requests (may be null)
  AccessLogs* accessLogs = nullptr;    // every access_log file, by id (null without routing)
  const LogFormat* defaultLogFormat = nullptr;  // accessLog's format; null: combined
  int pid = 0;                                  // the worker's ($pid)
  const HostMemo* hosts = nullptr;              // recent Host values, normalized (RequestTarget)
  // The listen addresses and servers (nullptr: cfg alone).
  const RouteConfig* routes = nullptr;
  ThreadPool* pool = nullptr;  // reads of a file body not in the page cache (may be null)
  FreeListPool<RequestBody>* bodies = nullptr;  // buffered request bodies (wantsBody handlers)
};

}  // namespace hs
