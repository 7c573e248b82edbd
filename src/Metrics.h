// The metrics endpoint's content: a snapshot that sums the counters in SharedState (the status
// page's figures, responses by status class, bytes sent, the request-duration histogram, worker
// restarts, each worker's connections by state and its thread pool), and a renderer for the
// Prometheus text exposition format, version 0.0.4. Pure: reads memory, writes into the caller's
// buffer, allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "ResponseStats.h"
#include "SharedState.h"
#include "UpstreamConfig.h"

namespace hs {

// The Content-Type of the rendered text.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

struct WorkerSnapshot {
  int32_t pid = 0;
  uint32_t index = 0;
  uint32_t generation = 0;
  uint32_t live = 0;
  uint32_t reading = 0;
  uint32_t writing = 0;
  uint32_t restarts = 0;
  uint64_t taken = 0;
  uint64_t requests = 0;
  // The worker's thread pool (see SharedState.h): threads, tasks in flight, done, summed times.
  uint32_t poolThreads = 0;
  uint32_t poolQueue = 0;
  uint64_t poolDone = 0;
  uint64_t poolWaitUs = 0;
  uint64_t poolRunUs = 0;

  // Open connections that are neither reading a request nor sending a response.
  uint32_t waiting() const { return live >= reading + writing ? live - reading - writing : 0; }
};

// One application pool (SharedState::apps): requests in flight (busy) and waiting (queued) summed
// over the workers, the rest as the master or the workers counted them.
struct AppSnapshot {
  char name[64] = {};
  uint32_t generation = 0;
  uint32_t processes = 0;
  uint32_t restarts = 0;
  uint32_t busy = 0;
  uint32_t queued = 0;
  uint64_t requests = 0;
  uint64_t failures = 0;
};

// One upstream server summed over the workers of the current generation.
struct UpstreamServerSnapshot {
  uint64_t active = 0;
  uint64_t requests = 0;
  uint64_t failures = 0;
  uint32_t downIn = 0;  // workers that have it taken out
};

struct MetricsSnapshot {
  int32_t masterPid = 0;
  uint32_t generation = 0;
  int64_t startTime = 0;  // unix seconds
  uint64_t accepted = 0;  // by the master
  uint64_t handled = 0;   // connections taken by workers, exited ones included
  uint64_t requests = 0;  // answered, exited workers included
  uint64_t active = 0;    // connections held now
  uint64_t reading = 0;
  uint64_t writing = 0;
  uint64_t workerRestarts = 0;
  uint64_t byClass[kStatusClasses] = {};
  uint64_t bytesSent = 0;
  uint64_t durationSumUs = 0;
  uint64_t duration[kDurationBuckets] = {};  // per bucket, not cumulative
  uint32_t nworkers = 0;                     // live workers, in slot order
  WorkerSnapshot workers[kMaxWorkerSlots];
  uint32_t napps = 0;  // apps the master runs, in slot order
  AppSnapshot apps[kMaxApps];
  UpstreamServerSnapshot upstreams[kMaxUpstreamSlots];  // every group's servers, in file order

  uint64_t waiting() const { return active >= reading + writing ? active - reading - writing : 0; }
};

// The application pools of `shared` into out->apps (part of takeSnapshot).
void takeAppSnapshot(const SharedState& shared, MetricsSnapshot* out);

// Sums `shared` into `out` (every field overwritten). The counters are read with relaxed loads
// while their writers run, so the figures are each current, not one consistent instant.
void takeSnapshot(const SharedState& shared, MetricsSnapshot* out);

// A page about the connections (this one, or the status page) is answered while its own request is
// still counted as reading: a synchronous handler runs before its connection starts writing. This
// moves that request, in the worker `pid` and in the totals, from reading to writing, as nginx's
// stub_status counts its own request.
void countOwnRequestAsWriting(MetricsSnapshot* s, int32_t pid);

// Writes the exposition text of `s` into buf (at most cap bytes) and returns its full length;
// when that is more than cap, the text was cut and the caller should retry with a larger buffer.
// `groups` (the configuration's upstream groups) names s.upstreams.
size_t renderMetrics(const MetricsSnapshot& s, char* buf, size_t cap,
                     const std::vector<UpstreamGroupSpec>* groups = nullptr);

// How an upstream server stands: "down" (by hand, or taken out in some worker), "backup" or "up".
const char* upstreamState(const UpstreamServerSpec& spec, const UpstreamServerSnapshot& s);

}  // namespace hs
