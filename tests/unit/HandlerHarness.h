// Runs a handler on a request without a connection or a process: the request bytes are parsed
// with HttpParser, the context is built as the connection builds it, and the plan the handler
// fills is rendered back into status, head and body bytes (file parts read with pread).
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "FileCache.h"
#include "Handler.h"
#include "HttpParser.h"
#include "RefusalLog.h"
#include "RequestTarget.h"
#include "ThreadPool.h"

namespace hs::test {

// A sink for synchronous handlers: any call is a test failure.
class NoSink final : public ResponseSink {
 public:
  const RequestContext& request() const override { return ctx_; }
  ResponsePlan& plan() override { return plan_; }
  void sendHead() override { ADD_FAILURE() << "a synchronous handler called sendHead()"; }
  bool push(const char*, size_t) override {
    ADD_FAILURE() << "a synchronous handler called push()";
    return false;
  }
  void end() override { ADD_FAILURE() << "a synchronous handler called end()"; }
  void fail(int) override { ADD_FAILURE() << "a synchronous handler called fail()"; }
  void refuse(const RefusalDetail& d) override {
    refusals.push_back({d.kind, d.err, std::string(d.root), std::string(d.path)});
  }

  struct Refused {
    Refusal kind;
    int err;
    std::string root, path;  // copies: the views die with the handler
  };
  std::vector<Refused> refusals;  // what the handler refused, in order

 private:
  RequestContext ctx_;
  ResponsePlan plan_;
};

// The connection's side of an answer that comes later (a handler with a thread pool): counts
// end(), after which plan() holds the whole answer.
class LaterSink final : public ResponseSink {
 public:
  explicit LaterSink(const RequestContext& ctx) : ctx_(ctx) {}
  const RequestContext& request() const override { return ctx_; }
  ResponsePlan& plan() override { return plan_; }
  void sendHead() override { ADD_FAILURE() << "the static handler sends whole answers"; }
  bool push(const char*, size_t) override {
    ADD_FAILURE() << "the static handler never pushes";
    return false;
  }
  void end() override { ++ends; }
  void fail(int) override { ADD_FAILURE() << "the static handler never fails"; }
  void refuse(const RefusalDetail&) override { ++refusals; }
  int ends = 0;
  int refusals = 0;

 private:
  const RequestContext& ctx_;
  ResponsePlan plan_;
};

// Hands the pool's completions back to their handlers, as the worker does, until the sink ended
// (or about ten seconds passed). Returns how many tasks came back.
inline size_t finishWithPool(ThreadPool& pool, LaterSink& sink) {
  size_t tasks = 0;
  for (int rounds = 0; sink.ends == 0 && rounds < 100; ++rounds) {
    pollfd p{pool.eventFd(), POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    tasks += pool.collect(
        [&](PoolTask& t) { static_cast<Handler*>(t.owner)->taskDone(t, &sink, 1000); });
  }
  return tasks;
}

struct Answer {
  int status = 0;
  std::string head;  // status line through the last header line (no blank line)
  std::string body;  // every body part, in order
  uint64_t bodyBytes = 0;
  bool holdsFile = false;

  bool hasLine(const std::string& line) const {
    return head.find("\r\n" + line + "\r\n") != std::string::npos;
  }
};

// One request, parsed and described the way Connection::dispatch describes it.
class Exchange {
 public:
  Exchange(const std::string& raw, const sockaddr_in6& peer, int64_t nowMs)
      : raw_(raw), peer_(peer) {
    EXPECT_EQ(parser_.parse(raw_.data(), raw_.size(), &req_), ParseStatus::kDone) << raw_;
    ctx_.req = &req_;
    ctx_.base = raw_.data();
    describeTarget(
        ctx_, TargetBuffers{path_, sizeof path_, uri_, sizeof uri_, host_, sizeof host_, nullptr});
    ctx_.peer = &peer_;
    ctx_.nowMs = nowMs;
    ctx_.nowSec = 1'700'000'000;
    ctx_.commonHead = "Server: test\r\nDate: Tue, 14 Nov 2023 22:13:20 GMT\r\n";
  }
  RequestContext& ctx() { return ctx_; }

 private:
  std::string raw_;
  sockaddr_in6 peer_;
  HttpParser parser_;
  HttpRequest req_;
  char path_[4096];
  char uri_[4096];
  char host_[256];
  RequestContext ctx_;
};

inline Answer render(const ResponsePlan& plan) {
  Answer a;
  a.status = plan.status;
  a.bodyBytes = plan.bodyBytes;
  a.holdsFile = plan.file() != nullptr;
  // The head is built in the plan's buffer; parts[0] is reserved for it until the connection ends
  // it.
  a.head.assign(plan.headBytes(), plan.headLength());
  for (uint32_t i = 1; i < plan.nparts; ++i) {
    const BodyPart& part = plan.parts[i];
    if (part.mem != nullptr) {
      a.body.append(part.mem + part.off, part.len);
      continue;
    }
    std::string chunk(part.len, '\0');
    ssize_t n =
        ::pread(plan.file()->fd.get(), chunk.data(), part.len, static_cast<off_t>(part.off));
    EXPECT_EQ(n, static_cast<ssize_t>(part.len));
    a.body += chunk;
  }
  return a;
}

inline sockaddr_in6 loopbackPeer() {
  sockaddr_in6 a{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(0x7f000001);
  return a;
}

inline sockaddr_in6 remotePeer() {
  sockaddr_in6 a{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(0xc0000201);  // 192.0.2.1
  return a;
}

}  // namespace hs::test
