#include "StatusHandler.h"

#include <cstdio>
#include <cstring>
#include <string>

#include "Socket.h"

namespace hs {
namespace {

struct Totals {
  uint64_t active = 0, handled = 0, requests = 0, reading = 0, writing = 0;
};

void appendf(std::string& out, const char* fmt, auto... args) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  if (n > 0) out.append(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

unsigned long long u(uint64_t v) { return static_cast<unsigned long long>(v); }

// Adds up the workers' counters, and writes one line (or JSON object) per worker to `workers`.
Totals addUp(const SharedState& shared, bool json, std::string& workers) {
  Totals t;
  t.handled = shared.handledBase.load(std::memory_order_relaxed);
  t.requests = shared.requestsBase.load(std::memory_order_relaxed);
  workers.clear();
  for (const WorkerStats& w : shared.workers) {
    int32_t pid = w.pid.load(std::memory_order_relaxed);
    if (pid == 0) continue;
    uint32_t live = w.live.load(std::memory_order_relaxed);
    uint64_t req = w.requests.load(std::memory_order_relaxed);
    t.active += live;
    t.handled += w.taken.load(std::memory_order_relaxed);
    t.requests += req;
    t.reading += w.reading.load(std::memory_order_relaxed);
    t.writing += w.writing.load(std::memory_order_relaxed);
    unsigned idx = w.index.load(std::memory_order_relaxed),
             restarts = w.restarts.load(std::memory_order_relaxed),
             gen = w.generation.load(std::memory_order_relaxed);
    if (json) {
      appendf(workers,
              "%s{\"index\":%u,\"pid\":%d,\"live\":%u,\"requests\":%llu,\"restarts\":%u,"
              "\"generation\":%u}",
              workers.empty() ? "" : ",", idx, pid, live, u(req), restarts, gen);
    } else {
      appendf(workers,
              "Worker %u: pid %d, generation %u, connections %u, requests %llu, restarts %u\n", idx,
              pid, gen, live, u(req), restarts);
    }
  }
  return t;
}

void writePage(const SharedState& shared, time_t now, bool json, std::string& out) {
  std::string workers;
  Totals t = addUp(shared, json, workers);
  uint64_t waiting = t.active >= t.reading + t.writing ? t.active - t.reading - t.writing : 0;
  long long uptime = static_cast<long long>(now - shared.startTime.load(std::memory_order_relaxed));
  unsigned gen = shared.generation.load(std::memory_order_relaxed);
  int masterPid = shared.masterPid.load(std::memory_order_relaxed);
  uint64_t accepted = shared.accepted.load(std::memory_order_relaxed);
  out.clear();
  if (json) {
    appendf(out, "{\"active\":%llu,\"accepted\":%llu,\"handled\":%llu,\"requests\":%llu,",
            u(t.active), u(accepted), u(t.handled), u(t.requests));
    appendf(out, "\"reading\":%llu,\"writing\":%llu,\"waiting\":%llu,", u(t.reading), u(t.writing),
            u(waiting));
    appendf(out, "\"master_pid\":%d,\"uptime\":%lld,\"generation\":%u,\"workers\":[", masterPid,
            uptime, gen);
    out += workers;
    out += "]}\n";
  } else {
    appendf(out, "Active connections: %llu \nserver accepts handled requests\n %llu %llu %llu \n",
            u(t.active), u(accepted), u(t.handled), u(t.requests));
    appendf(out, "Reading: %llu Writing: %llu Waiting: %llu \n", u(t.reading), u(t.writing),
            u(waiting));
    appendf(out, "Master: pid %d, uptime %lld s, generation %u\n", masterPid, uptime, gen);
    out += workers;
  }
}

}  // namespace

Reply StatusHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  if (planOtherMethods(ctx, *errors_, plan)) return Reply::kReady;
  sockaddr_storage peer{};
  std::memcpy(&peer, ctx.peer, sizeof *ctx.peer);
  if (!allowRemote_ && !isLoopback(peer)) {
    errors_->fill(ctx, 403, plan);
    return Reply::kReady;
  }
  bool json = ctx.query.find("json") != std::string_view::npos;
  writePage(*shared_, ctx.nowSec, json, plan.generated);
  plan.begin(200, ctx.commonHead).add("Cache-Control: no-store\r\n");
  plan.setBody(json ? "application/json" : "text/plain; charset=utf-8", plan.generated,
               ctx.headOnly());
  return Reply::kReady;
}

}  // namespace hs
