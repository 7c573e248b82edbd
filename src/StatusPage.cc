// Worker::respondStatus (see Worker.h): the --status-path page, in nginx stub_status's text form
// or as JSON (?json), built from the counters every process keeps in SharedState.
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "Socket.h"
#include "Worker.h"

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

}  // namespace

void Worker::respondStatus(Connection* c) {
  sockaddr_storage peer{};
  std::memcpy(&peer, &c->peer, sizeof c->peer);
  if (!cfg_.statusAllowRemote && !isLoopback(peer)) {
    respondError(c, 403);
    return;
  }
  std::string_view target = c->io->req.target.in(c->io->in + c->io->reqStart);
  size_t q = target.find('?');
  bool json = q != std::string_view::npos && target.substr(q + 1).find("json") != std::string_view::npos;

  Totals t;
  t.handled = shared_->handledBase.load(std::memory_order_relaxed);
  t.requests = shared_->requestsBase.load(std::memory_order_relaxed);
  std::string workers;
  for (const WorkerStats& w : shared_->workers) {
    int32_t pid = w.pid.load(std::memory_order_relaxed);
    if (pid == 0) continue;
    uint32_t live = w.live.load(std::memory_order_relaxed);
    uint64_t req = w.requests.load(std::memory_order_relaxed);
    t.active += live;
    t.handled += w.taken.load(std::memory_order_relaxed);
    t.requests += req;
    t.reading += w.reading.load(std::memory_order_relaxed);
    t.writing += w.writing.load(std::memory_order_relaxed);
    unsigned idx = w.index.load(std::memory_order_relaxed), restarts = w.restarts.load(std::memory_order_relaxed),
             gen = w.generation.load(std::memory_order_relaxed);
    if (json) {
      appendf(workers, "%s{\"index\":%u,\"pid\":%d,\"live\":%u,\"requests\":%llu,\"restarts\":%u,\"generation\":%u}",
              workers.empty() ? "" : ",", idx, pid, live, static_cast<unsigned long long>(req), restarts, gen);
    } else {
      appendf(workers, "Worker %u: pid %d, generation %u, connections %u, requests %llu, restarts %u\n", idx,
              pid, gen, live, static_cast<unsigned long long>(req), restarts);
    }
  }
  uint64_t waiting = t.active >= t.reading + t.writing ? t.active - t.reading - t.writing : 0;
  long long uptime = static_cast<long long>(nowSec_ - shared_->startTime.load(std::memory_order_relaxed));
  unsigned gen = shared_->generation.load(std::memory_order_relaxed);
  int masterPid = shared_->masterPid.load(std::memory_order_relaxed);
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::string& out = c->io->generated;
  out.clear();
  if (json) {
    appendf(out, "{\"active\":%llu,\"accepted\":%llu,\"handled\":%llu,\"requests\":%llu,", u(t.active),
            u(shared_->accepted.load(std::memory_order_relaxed)), u(t.handled), u(t.requests));
    appendf(out, "\"reading\":%llu,\"writing\":%llu,\"waiting\":%llu,", u(t.reading), u(t.writing), u(waiting));
    appendf(out, "\"master_pid\":%d,\"uptime\":%lld,\"generation\":%u,\"workers\":[", masterPid, uptime, gen);
    out += workers;
    out += "]}\n";
  } else {
    appendf(out, "Active connections: %llu \nserver accepts handled requests\n %llu %llu %llu \n", u(t.active),
            u(shared_->accepted.load(std::memory_order_relaxed)), u(t.handled), u(t.requests));
    appendf(out, "Reading: %llu Writing: %llu Waiting: %llu \n", u(t.reading), u(t.writing), u(waiting));
    appendf(out, "Master: pid %d, uptime %lld s, generation %u\n", masterPid, uptime, gen);
    out += workers;
  }
  HeadWriter w(c->io->out, IoState::kOutCap);
  writeCommonHead(c, w, 200);
  w.add("Cache-Control: no-store\r\n");
  finishWithBody(c, w, json ? "application/json" : "text/plain; charset=utf-8", out);
}

}  // namespace hs
