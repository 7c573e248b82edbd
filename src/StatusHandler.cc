#include "StatusHandler.h"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace hs {
namespace {

void appendf(std::string& out, const char* fmt, auto... args) {
  char buf[256];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  if (n > 0) out.append(buf, std::min(static_cast<size_t>(n), sizeof buf - 1));
}

unsigned long long u(uint64_t v) { return static_cast<unsigned long long>(v); }

// One line per application pool, after the workers'.
void writeAppsText(const MetricsSnapshot& s, std::string& out) {
  for (uint32_t i = 0; i < s.napps; ++i) {
    const AppSnapshot& a = s.apps[i];
    appendf(out,
            "App %s: processes %u, busy %u, queue %u, requests %llu, failures %llu, restarts %u, "
            "generation %u\n",
            a.name, a.processes, a.busy, a.queued, u(a.requests), u(a.failures), a.restarts,
            a.generation);
  }
}

// "apps": one object per application pool, the text form's figures under the same names; absent
// without apps, as the text form's lines are.
void writeAppsJson(const MetricsSnapshot& s, std::string& out) {
  if (s.napps == 0) return;
  out += ",\"apps\":[";
  for (uint32_t i = 0; i < s.napps; ++i) {
    const AppSnapshot& a = s.apps[i];
    appendf(out, "%s{\"app\":\"%s\",\"processes\":%u,\"busy\":%u,\"queue\":%u,\"requests\":%llu,",
            i == 0 ? "" : ",", a.name, a.processes, a.busy, a.queued, u(a.requests));
    appendf(out, "\"failures\":%llu,\"restarts\":%u,\"generation\":%u}", u(a.failures), a.restarts,
            a.generation);
  }
  out += "]";
}

// nginx stub_status's lines, then the master's and one per worker.
void writeText(const MetricsSnapshot& s, long long uptime, std::string& out) {
  appendf(out, "Active connections: %llu \nserver accepts handled requests\n %llu %llu %llu \n",
          u(s.active), u(s.accepted), u(s.handled), u(s.requests));
  appendf(out, "Reading: %llu Writing: %llu Waiting: %llu \n", u(s.reading), u(s.writing),
          u(s.waiting()));
  appendf(out, "Master: pid %d, uptime %lld s, generation %u\n", s.masterPid, uptime, s.generation);
  for (uint32_t i = 0; i < s.nworkers; ++i) {
    const WorkerSnapshot& w = s.workers[i];
    appendf(out, "Worker %u: pid %d, generation %u, connections %u, requests %llu, restarts %u\n",
            w.index, w.pid, w.generation, w.live, u(w.requests), w.restarts);
    appendf(out,
            "Worker %u pool: threads %u, queue %u, tasks done %llu, wait_us %llu, run_us %llu\n",
            w.index, w.poolThreads, w.poolQueue, u(w.poolDone), u(w.poolWaitUs), u(w.poolRunUs));
  }
  writeAppsText(s, out);
}

// Every upstream server: its group, state and figures.
void writeUpstreamsText(const MetricsSnapshot& s, const std::vector<UpstreamGroupSpec>& groups,
                        std::string& out) {
  size_t i = 0;
  for (const UpstreamGroupSpec& g : groups) {
    for (const UpstreamServerSpec& server : g.servers) {
      if (i == kMaxUpstreamSlots) return;
      const UpstreamServerSnapshot& st = s.upstreams[i++];
      appendf(out,
              "Upstream %s: server %s, state %s, active %llu, requests %llu, failures %llu, down "
              "in %u workers\n",
              g.name.c_str(), server.address.c_str(), upstreamState(server, st), u(st.active),
              u(st.requests), u(st.failures), st.downIn);
    }
  }
}

void writeUpstreamsJson(const MetricsSnapshot& s, const std::vector<UpstreamGroupSpec>& groups,
                        std::string& out) {
  out += ",\"upstreams\":[";
  size_t i = 0;
  for (const UpstreamGroupSpec& g : groups) {
    appendf(out, "%s{\"name\":\"%s\",\"balance\":\"%s\",\"servers\":[", &g == &groups[0] ? "" : ",",
            g.name.c_str(), balanceName(g.balance));
    for (const UpstreamServerSpec& server : g.servers) {
      if (i == kMaxUpstreamSlots) break;
      const UpstreamServerSnapshot& st = s.upstreams[i++];
      appendf(out,
              "%s{\"server\":\"%s\",\"weight\":%u,\"backup\":%s,\"state\":\"%s\",\"active\":%llu,"
              "\"requests\":%llu,\"failures\":%llu,\"down_in\":%u}",
              &server == &g.servers[0] ? "" : ",", server.address.c_str(), server.weight,
              server.backup ? "true" : "false", upstreamState(server, st), u(st.active),
              u(st.requests), u(st.failures), st.downIn);
    }
    out += "]}";
  }
  out += "]";
}

// The same figures under the same names, lower-case: "accepts" as nginx's column, "master" and
// "workers" for the lines that start with "Master:" and "Worker N:".
void writeJson(const MetricsSnapshot& s, long long uptime, std::string& out) {
  appendf(out, "{\"active\":%llu,\"accepts\":%llu,\"handled\":%llu,\"requests\":%llu,", u(s.active),
          u(s.accepted), u(s.handled), u(s.requests));
  appendf(out, "\"reading\":%llu,\"writing\":%llu,\"waiting\":%llu,", u(s.reading), u(s.writing),
          u(s.waiting()));
  appendf(out, "\"master\":{\"pid\":%d,\"uptime\":%lld,\"generation\":%u},\"workers\":[",
          s.masterPid, uptime, s.generation);
  for (uint32_t i = 0; i < s.nworkers; ++i) {
    const WorkerSnapshot& w = s.workers[i];
    appendf(out,
            "%s{\"worker\":%u,\"pid\":%d,\"generation\":%u,\"connections\":%u,\"requests\":%llu,"
            "\"restarts\":%u,",
            i == 0 ? "" : ",", w.index, w.pid, w.generation, w.live, u(w.requests), w.restarts);
    appendf(out,
            "\"pool\":{\"threads\":%u,\"queue\":%u,\"done\":%llu,\"wait_us\":%llu,"
            "\"run_us\":%llu}}",
            w.poolThreads, w.poolQueue, u(w.poolDone), u(w.poolWaitUs), u(w.poolRunUs));
  }
  out += "]";
  writeAppsJson(s, out);
}

}  // namespace

StatusHandler::StatusHandler(const SharedState* shared, bool allowRemote, const ErrorPages* errors)
    : shared_(shared),
      allowRemote_(allowRemote),
      errors_(errors),
      snapshot_(std::make_unique<MetricsSnapshot>()) {}

Reply StatusHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  if (planMonitoringGate(ctx, allowRemote_, *errors_, plan)) return Reply::kReady;
  takeSnapshot(*shared_, snapshot_.get());
  countOwnRequestAsWriting(snapshot_.get(), ::getpid());
  long long uptime = static_cast<long long>(ctx.nowSec - snapshot_->startTime);
  bool json = ctx.query.find("json") != std::string_view::npos;
  plan.generated.clear();
  if (json) {
    writeJson(*snapshot_, uptime, plan.generated);
    if (groups_ != nullptr && !groups_->empty())
      writeUpstreamsJson(*snapshot_, *groups_, plan.generated);
    plan.generated += "}\n";
  } else {
    writeText(*snapshot_, uptime, plan.generated);
    if (groups_ != nullptr) writeUpstreamsText(*snapshot_, *groups_, plan.generated);
  }
  plan.begin(200, ctx.commonHead).add("Cache-Control: no-store\r\n");
  plan.setBody(json ? "application/json" : "text/plain; charset=utf-8", plan.generated,
               ctx.headOnly());
  return Reply::kReady;
}

}  // namespace hs
