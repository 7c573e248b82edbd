// Counters shared by the master and its workers through one MAP_SHARED anonymous mapping created
// before the first fork. Each WorkerStats has a single writer (its worker), so updates are plain
// relaxed load+store (no locked instructions on the hot path); readers see a consistent-enough
// view.
#pragma once

#include <atomic>
#include <cstdint>

#include "ResponseStats.h"
#include "SingleWriter.h"

namespace hs {

constexpr int kMaxWorkerSlots = 512;  // covers 256 workers plus a retiring generation

struct alignas(64) WorkerStats {
  std::atomic<int32_t> pid;
  std::atomic<uint32_t> generation;
  std::atomic<uint32_t> live;      // connections held now (the master's load figure)
  std::atomic<uint64_t> taken;     // fds received from the master, ever
  std::atomic<uint64_t> requests;  // requests answered
  std::atomic<uint32_t> reading;   // connections reading a request head or body
  std::atomic<uint32_t> writing;   // connections sending a response
  std::atomic<uint32_t> index;     // worker number shown in the status page and process title
  std::atomic<uint32_t> restarts;  // how many workers this slot's index had before (respawns)
  // When the worker's evictable connections (idle keep-alive, reading a request, or a response the
  // client stopped reading) began waiting,
  // for the oldest one, in CLOCK_MONOTONIC ms; 0 when there is none. See kEvictAfterMs.
  std::atomic<int64_t> oldestEvictableMs;
  // The worker's thread pool (see ThreadPool.h): threads (0: none), tasks in flight (queued,
  // running or not yet collected), tasks done, and the summed time they waited and ran.
  std::atomic<uint32_t> poolThreads;
  std::atomic<uint32_t> poolQueue;
  std::atomic<uint64_t> poolDone;
  std::atomic<uint64_t> poolWaitUs;
  std::atomic<uint64_t> poolRunUs;
};

// A full worker may take one more connection by closing the connection that has been idle in
// keep-alive, reading its request, or stalled in a response (no byte taken by the client) the
// longest, if that has lasted at least this long.
constexpr int64_t kEvictAfterMs = 500;

// One application pool (`app NAME { ... }`) as the master runs it, in the slot the master gave it
// (AppPool), read by the status page and the metrics endpoint. The master writes the name, the
// generation and its own counters; the workers write the rest with atomic read-modify-writes (an
// app has many writers). A connection to the app counts in `busy` of the generation it was opened
// under while a request uses it: a worker adds one before it connects or reuses a kept connection,
// then checks `generation` (a stale kept connection is closed instead), and the master retires an
// old generation's processes once its count is 0 after `generation` moved on. Both sides use
// sequentially consistent operations, so one of them always sees the other.
constexpr int kMaxApps = 64;
constexpr uint32_t kAppGenerations = 4;  // generations of one app alive at once, at most

struct alignas(64) AppStats {
  std::atomic<uint32_t> inUse;       // 1 while the slot holds an app (set after `name`)
  char name[64];                     // NUL-terminated
  std::atomic<uint32_t> generation;  // the current one; its processes take new connections
  std::atomic<uint32_t> processes;   // running, every generation
  std::atomic<uint32_t> restarts;    // processes started after the app's first ones
  std::atomic<int32_t> busy[kAppGenerations];  // requests in flight, by generation % 4
  std::atomic<int32_t> queued;                 // requests waiting for a connection
  std::atomic<uint64_t> requests;              // requests handed a connection to the app
  std::atomic<uint64_t> failures;              // answered 502, 503 or 504 by the gateway
};

// The servers of every upstream group together, in configuration order (UpstreamConfig.h bounds
// them to this).
constexpr int kMaxUpstreamSlots = 64;

// One upstream server as one worker sees it (see UpstreamGroup.h), written by that worker alone.
struct UpstreamServerStats {
  std::atomic<uint32_t> active;  // the worker's requests on it now
  std::atomic<uint32_t> down;    // 1: taken out in this worker (by hand or after failures)
  std::atomic<uint64_t> requests;
  std::atomic<uint64_t> failures;
};

struct alignas(64) WorkerUpstreams {
  UpstreamServerStats servers[kMaxUpstreamSlots];
};

struct SharedState {
  std::atomic<int32_t> masterPid;
  std::atomic<uint32_t> generation;   // current worker generation (bumped on reload)
  std::atomic<int64_t> startTime;     // master start, unix seconds
  std::atomic<uint64_t> accepted;     // connections accepted by the master (incl. handed back ones)
  std::atomic<uint64_t> handledBase;  // requests/connections of workers that have exited
  std::atomic<uint64_t> requestsBase;
  WorkerStats workers[kMaxWorkerSlots];
  // The metrics endpoint's counters (see ResponseStats.h and Metrics.h): one ResponseStats per
  // slot, written by the slot's worker; workerRestarts by the master.
  ResponseStats responses[kMaxWorkerSlots];
  std::atomic<uint64_t> workerRestarts;  // workers replaced after they exited
  // For the health path (HealthHandler.h), written by the master: the workers it wants running,
  // the app processes it wants but has not running, and 1 once it began to drain (QUIT or WINCH).
  std::atomic<int32_t> workersWanted;
  std::atomic<int32_t> appsMissing;
  std::atomic<uint32_t> draining;
  AppStats apps[kMaxApps];  // by the slot AppPool gave each app
  // Each slot's worker's view of the upstream servers (zeroed when a worker starts in the slot).
  WorkerUpstreams upstreams[kMaxWorkerSlots];
};

// Maps a zeroed SharedState shared with future children. Returns nullptr on failure.
SharedState* mapSharedState();

}  // namespace hs
