#include "Metrics.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace hs {
namespace {

uint64_t load(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }
uint32_t load(const std::atomic<uint32_t>& a) { return a.load(std::memory_order_relaxed); }

// Appends to a fixed buffer and keeps counting past its end, so the caller learns the size needed.
class TextOut {
 public:
  TextOut(char* buf, size_t cap) : buf_(buf), cap_(cap) {}

  void put(std::string_view s) {
    for (char ch : s) {
      if (len_ < cap_) buf_[len_] = ch;
      ++len_;
    }
  }
  void putUnsigned(uint64_t v) {
    char digits[20];
    size_t n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) put(std::string_view(&digits[--n], 1));
  }
  void putSigned(int64_t v) {
    if (v < 0) put("-");
    putUnsigned(v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v));
  }
  // Microseconds as decimal seconds, without trailing zeros: 2500 -> "0.0025", 10000000 -> "10".
  void putSeconds(uint64_t us) {
    putUnsigned(us / 1'000'000);
    uint64_t frac = us % 1'000'000;
    if (frac == 0) return;
    char digits[7] = {'.'};
    for (int i = 6; i >= 1; --i, frac /= 10) digits[i] = static_cast<char>('0' + frac % 10);
    size_t n = 7;
    while (digits[n - 1] == '0') --n;
    put(std::string_view(digits, n));
  }
  size_t length() const { return len_; }

 private:
  char* buf_;
  size_t cap_;
  size_t len_ = 0;
};

void family(TextOut& o, std::string_view name, std::string_view type, std::string_view help) {
  o.put("# HELP ");
  o.put(name);
  o.put(" ");
  o.put(help);
  o.put("\n# TYPE ");
  o.put(name);
  o.put(" ");
  o.put(type);
  o.put("\n");
}

// A family of one sample without labels.
void single(TextOut& o, std::string_view name, std::string_view type, std::string_view help,
            uint64_t value) {
  family(o, name, type, help);
  o.put(name);
  o.put(" ");
  o.putUnsigned(value);
  o.put("\n");
}

void renderServer(TextOut& o, const MetricsSnapshot& s) {
  family(o, "httpserver_start_time_seconds", "gauge",
         "Start time of the master process since the epoch, in seconds.");
  o.put("httpserver_start_time_seconds ");
  o.putSigned(s.startTime);
  o.put("\n");
  single(o, "httpserver_generation", "gauge", "Current worker generation (one more per reload).",
         s.generation);
  single(o, "httpserver_workers", "gauge", "Worker processes running, of every generation.",
         s.nworkers);
  single(o, "httpserver_worker_restarts_total", "counter",
         "Workers started again after they exited.", s.workerRestarts);
}

void renderStatusCounters(TextOut& o, const MetricsSnapshot& s) {
  single(o, "httpserver_connections_accepted_total", "counter",
         "Client connections accepted by the master (handed-back ones again).", s.accepted);
  single(o, "httpserver_connections_handled_total", "counter",
         "Client connections taken by the workers.", s.handled);
  single(o, "httpserver_http_requests_total", "counter", "Requests answered.", s.requests);
  single(o, "httpserver_connections_active", "gauge", "Open client connections.", s.active);
  single(o, "httpserver_connections_reading", "gauge", "Connections reading a request.", s.reading);
  single(o, "httpserver_connections_writing", "gauge", "Connections sending a response.",
         s.writing);
  single(o, "httpserver_connections_waiting", "gauge",
         "Idle keep-alive connections (open, neither reading nor writing).", s.waiting());
}

void renderResponses(TextOut& o, const MetricsSnapshot& s) {
  family(o, "httpserver_http_responses_total", "counter", "Responses sent, by status class.");
  for (int i = 0; i < kStatusClasses; ++i) {
    o.put("httpserver_http_responses_total{code=\"");
    o.putUnsigned(static_cast<uint64_t>(i + 1));
    o.put("xx\"} ");
    o.putUnsigned(s.byClass[i]);
    o.put("\n");
  }
  single(o, "httpserver_sent_bytes_total", "counter",
         "Response bytes sent to clients, heads included.", s.bytesSent);
}

void renderDuration(TextOut& o, const MetricsSnapshot& s) {
  constexpr std::string_view kName = "httpserver_http_request_duration_seconds";
  family(o, kName, "histogram",
         "Time from a request's first byte to its response's last byte handed to the kernel.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kDurationBuckets; ++i) {
    cumulative += s.duration[i];
    o.put(kName);
    o.put("_bucket{le=\"");
    if (i < std::size(kDurationBoundsUs)) {
      o.putSeconds(kDurationBoundsUs[i]);
    } else {
      o.put("+Inf");
    }
    o.put("\"} ");
    o.putUnsigned(cumulative);
    o.put("\n");
  }
  o.put(kName);
  o.put("_sum ");
  o.putSeconds(s.durationSumUs);
  o.put("\n");
  o.put(kName);
  o.put("_count ");
  o.putUnsigned(cumulative);
  o.put("\n");
}

void workerLabels(TextOut& o, const WorkerSnapshot& w) {
  o.put("{worker=\"");
  o.putUnsigned(w.index);
  o.put("\",pid=\"");
  o.putSigned(w.pid);
  o.put("\"");
}

// One family per thread-pool figure, a sample per worker.
void renderPools(TextOut& o, const MetricsSnapshot& s) {
  struct Figure {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const WorkerSnapshot&);
    bool seconds;
  };
  static constexpr Figure kFigures[] = {
      {"httpserver_worker_pool_queue", "gauge",
       "Tasks in each worker's thread pool: queued, running or not yet collected.",
       [](const WorkerSnapshot& w) -> uint64_t { return w.poolQueue; }, false},
      {"httpserver_worker_pool_tasks_total", "counter", "Tasks each worker's thread pool did.",
       [](const WorkerSnapshot& w) { return w.poolDone; }, false},
      {"httpserver_worker_pool_wait_seconds_total", "counter",
       "Time the pool's tasks waited in its queue.",
       [](const WorkerSnapshot& w) { return w.poolWaitUs; }, true},
      {"httpserver_worker_pool_run_seconds_total", "counter", "Time the pool's tasks ran.",
       [](const WorkerSnapshot& w) { return w.poolRunUs; }, true},
  };
  for (const Figure& f : kFigures) {
    family(o, f.name, f.type, f.help);
    for (uint32_t i = 0; i < s.nworkers; ++i) {
      o.put(f.name);
      workerLabels(o, s.workers[i]);
      o.put("} ");
      const uint64_t v = f.value(s.workers[i]);
      if (f.seconds) {
        o.putSeconds(v);
      } else {
        o.putUnsigned(v);
      }
      o.put("\n");
    }
  }
}

void renderWorkers(TextOut& o, const MetricsSnapshot& s) {
  family(o, "httpserver_worker_connections", "gauge",
         "Connections each worker holds, by state (waiting: idle keep-alive).");
  for (uint32_t i = 0; i < s.nworkers; ++i) {
    const WorkerSnapshot& w = s.workers[i];
    const std::pair<std::string_view, uint32_t> states[] = {
        {"reading", w.reading}, {"writing", w.writing}, {"waiting", w.waiting()}};
    for (const auto& [state, value] : states) {
      o.put("httpserver_worker_connections");
      workerLabels(o, w);
      o.put(",state=\"");
      o.put(state);
      o.put("\"} ");
      o.putUnsigned(value);
      o.put("\n");
    }
  }
  family(o, "httpserver_worker_requests_total", "counter", "Requests each worker answered.");
  for (uint32_t i = 0; i < s.nworkers; ++i) {
    o.put("httpserver_worker_requests_total");
    workerLabels(o, s.workers[i]);
    o.put("} ");
    o.putUnsigned(s.workers[i].requests);
    o.put("\n");
  }
  renderPools(o, s);
}

// The application pools: a family per figure, a sample per app.
void renderApps(TextOut& o, const MetricsSnapshot& s) {
  struct Figure {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const AppSnapshot&);
  };
  static constexpr Figure kFigures[] = {
      {"httpserver_app_processes", "gauge", "Processes of each app running, every generation.",
       [](const AppSnapshot& a) -> uint64_t { return a.processes; }},
      {"httpserver_app_busy", "gauge", "Requests in flight to each app.",
       [](const AppSnapshot& a) -> uint64_t { return a.busy; }},
      {"httpserver_app_queue", "gauge", "Requests waiting for a connection to each app.",
       [](const AppSnapshot& a) -> uint64_t { return a.queued; }},
      {"httpserver_app_requests_total", "counter", "Requests passed to each app.",
       [](const AppSnapshot& a) { return a.requests; }},
      {"httpserver_app_failures_total", "counter",
       "Requests for each app answered 502, 503 or 504 by the gateway.",
       [](const AppSnapshot& a) { return a.failures; }},
      {"httpserver_app_restarts_total", "counter",
       "Processes of each app started after its first ones (replaced, recycled, reloaded).",
       [](const AppSnapshot& a) -> uint64_t { return a.restarts; }},
  };
  if (s.napps == 0) return;
  for (const Figure& f : kFigures) {
    family(o, f.name, f.type, f.help);
    for (uint32_t i = 0; i < s.napps; ++i) {
      o.put(f.name);
      o.put("{app=\"");
      o.put(s.apps[i].name);
      o.put("\"} ");
      o.putUnsigned(f.value(s.apps[i]));
      o.put("\n");
    }
  }
}

void upstreamLabels(TextOut& o, const UpstreamGroupSpec& g, const UpstreamServerSpec& s) {
  o.put("{upstream=\"");
  o.put(g.name);
  o.put("\",server=\"");
  o.put(s.address);
  o.put("\"} ");
}

// One family per upstream figure, a sample per server of every group.
void renderUpstreams(TextOut& o, const MetricsSnapshot& s,
                     const std::vector<UpstreamGroupSpec>& groups) {
  struct Figure {
    const char* name;
    const char* type;
    const char* help;
    uint64_t (*value)(const UpstreamServerSpec&, const UpstreamServerSnapshot&);
  };
  static constexpr Figure kFigures[] = {
      {"httpserver_upstream_up", "gauge",
       "1 while an upstream server is in use, 0 when down by hand or taken out in some worker.",
       [](const UpstreamServerSpec& spec, const UpstreamServerSnapshot& u) -> uint64_t {
         return !spec.down && u.downIn == 0 ? 1 : 0;
       }},
      {"httpserver_upstream_backup", "gauge", "1 for a backup server.",
       [](const UpstreamServerSpec& spec, const UpstreamServerSnapshot&) -> uint64_t {
         return spec.backup ? 1 : 0;
       }},
      {"httpserver_upstream_active", "gauge", "Requests on an upstream server now.",
       [](const UpstreamServerSpec&, const UpstreamServerSnapshot& u) { return u.active; }},
      {"httpserver_upstream_requests_total", "counter", "Requests sent to an upstream server.",
       [](const UpstreamServerSpec&, const UpstreamServerSnapshot& u) { return u.requests; }},
      {"httpserver_upstream_failures_total", "counter",
       "Failed attempts on an upstream server: connect errors, timeouts, invalid replies.",
       [](const UpstreamServerSpec&, const UpstreamServerSnapshot& u) { return u.failures; }},
  };
  for (const Figure& f : kFigures) {
    family(o, f.name, f.type, f.help);
    size_t i = 0;
    for (const UpstreamGroupSpec& g : groups) {
      for (const UpstreamServerSpec& server : g.servers) {
        if (i == kMaxUpstreamSlots) break;
        o.put(f.name);
        upstreamLabels(o, g, server);
        o.putUnsigned(f.value(server, s.upstreams[i++]));
        o.put("\n");
      }
    }
  }
}

// Each upstream server summed over the live workers of the current generation (a retiring one may
// count another configuration's servers).
void sumUpstreams(const SharedState& shared, int slot, MetricsSnapshot* out) {
  const WorkerUpstreams& wu = shared.upstreams[slot];
  for (int i = 0; i < kMaxUpstreamSlots; ++i) {
    const UpstreamServerStats& st = wu.servers[i];
    UpstreamServerSnapshot& u = out->upstreams[i];
    u.active += load(st.active);
    u.requests += load(st.requests);
    u.failures += load(st.failures);
    u.downIn += load(st.down) != 0 ? 1 : 0;
  }
}

}  // namespace

const char* upstreamState(const UpstreamServerSpec& spec, const UpstreamServerSnapshot& s) {
  if (spec.down || s.downIn > 0) return "down";
  return spec.backup ? "backup" : "up";
}

// The apps' slots in use, in slot order.
void takeAppSnapshot(const SharedState& shared, MetricsSnapshot* out) {
  out->napps = 0;
  for (const AppStats& a : shared.apps) {
    if (a.inUse.load(std::memory_order_acquire) == 0) continue;
    AppSnapshot& s = out->apps[out->napps++];
    std::memcpy(s.name, a.name, sizeof s.name);
    s.name[sizeof s.name - 1] = '\0';
    s.generation = load(a.generation);
    s.processes = load(a.processes);
    s.restarts = load(a.restarts);
    int64_t busy = 0;
    for (const std::atomic<int32_t>& b : a.busy) busy += b.load(std::memory_order_relaxed);
    s.busy = static_cast<uint32_t>(std::max<int64_t>(busy, 0));
    s.queued = static_cast<uint32_t>(std::max(a.queued.load(std::memory_order_relaxed), 0));
    s.requests = load(a.requests);
    s.failures = load(a.failures);
  }
}

void takeSnapshot(const SharedState& shared, MetricsSnapshot* out) {
  *out = MetricsSnapshot{};
  out->masterPid = shared.masterPid.load(std::memory_order_relaxed);
  out->generation = load(shared.generation);
  out->startTime = shared.startTime.load(std::memory_order_relaxed);
  out->accepted = load(shared.accepted);
  out->handled = load(shared.handledBase);
  out->requests = load(shared.requestsBase);
  out->workerRestarts = load(shared.workerRestarts);
  for (int slot = 0; slot < kMaxWorkerSlots; ++slot) {
    const ResponseStats& r = shared.responses[slot];
    for (int c = 0; c < kStatusClasses; ++c) out->byClass[c] += load(r.byClass[c]);
    out->bytesSent += load(r.bytesSent);
    out->durationSumUs += load(r.durationSumUs);
    for (size_t b = 0; b < kDurationBuckets; ++b) out->duration[b] += load(r.duration[b]);

    const WorkerStats& ws = shared.workers[slot];
    WorkerSnapshot w;
    w.pid = ws.pid.load(std::memory_order_relaxed);
    if (w.pid == 0) continue;
    w.index = load(ws.index);
    w.generation = load(ws.generation);
    w.live = load(ws.live);
    w.reading = load(ws.reading);
    w.writing = load(ws.writing);
    w.restarts = load(ws.restarts);
    w.taken = load(ws.taken);
    w.requests = load(ws.requests);
    w.poolThreads = load(ws.poolThreads);
    w.poolQueue = load(ws.poolQueue);
    w.poolDone = load(ws.poolDone);
    w.poolWaitUs = load(ws.poolWaitUs);
    w.poolRunUs = load(ws.poolRunUs);
    out->active += w.live;
    out->reading += w.reading;
    out->writing += w.writing;
    out->handled += w.taken;
    out->requests += w.requests;
    out->workers[out->nworkers++] = w;
    if (w.generation == out->generation) sumUpstreams(shared, slot, out);
  }
  takeAppSnapshot(shared, out);
}

void countOwnRequestAsWriting(MetricsSnapshot* s, int32_t pid) {
  for (uint32_t i = 0; i < s->nworkers; ++i) {
    WorkerSnapshot& w = s->workers[i];
    if (w.pid != pid || w.reading == 0) continue;
    --w.reading;
    ++w.writing;
    if (s->reading > 0) --s->reading;
    ++s->writing;
    return;
  }
}

size_t renderMetrics(const MetricsSnapshot& s, char* buf, size_t cap,
                     const std::vector<UpstreamGroupSpec>* groups) {
  TextOut o(buf, cap);
  renderServer(o, s);
  renderStatusCounters(o, s);
  renderResponses(o, s);
  renderDuration(o, s);
  renderWorkers(o, s);
  renderApps(o, s);
  if (groups != nullptr && !groups->empty()) renderUpstreams(o, s, *groups);
  return o.length();
}

}  // namespace hs
