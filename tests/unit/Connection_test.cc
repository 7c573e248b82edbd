// The connection state machine on a real loopback TCP connection, without a worker or a process:
// a test environment stands in for the worker (posted connections are driven by the test), and
// test handlers stand in for the static-file handler: one that answers at once, and one that
// answers later and streams its body in pieces, paced by the client's socket.
#include "Connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/tcp.h>  // tcp_info with the segment counters
#include <poll.h>
#include <sys/epoll.h>

#include <cstring>
#include <string>
#include <vector>

#include "AccessLog.h"
#include "Config.h"
#include "ErrorPages.h"
#include "EvictionList.h"
#include "FreeListPool.h"
#include "RefusalLogger.h"
#include "SharedState.h"
#include "WorkerClock.h"

namespace hs {
namespace {

// Answers every request at once with 200 and "ok".
class OkHandler final : public Handler {
 public:
  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink&) override {
    ++requests;
    plan.begin(200, ctx.commonHead);
    plan.setBody("text/plain", "ok", ctx.headOnly());
    return Reply::kReady;
  }
  int requests = 0;
};

// Answers later: start() only keeps the sink. answer() sends the head; every resume() pushes the
// next piece of the body from one buffer (valid until the next resume), and end()s after the last.
class StreamingHandler final : public Handler {
 public:
  static constexpr size_t kPiece = 16 * 1024;
  static constexpr int kPieces = 64;

  Reply start(const RequestContext&, ResponsePlan&, ResponseSink& sink) override {
    sink_ = &sink;
    sink.handlerState = this;
    return Reply::kLater;
  }
  void answer() {
    ResponsePlan& plan = sink_->plan();
    plan.begin(200, sink_->request().commonHead).header("Content-Length", kPiece * kPieces);
    sink_->sendHead();
  }
  void resume(ResponseSink& sink) override {
    EXPECT_EQ(&sink, sink_);
    ++resumes;
    if (sent_ == kPieces) return;
    std::memset(piece_, 'a' + sent_ % 26, kPiece);
    sink.push(piece_, kPiece);
    if (++sent_ == kPieces) sink.end();
  }
  void cancel(ResponseSink& sink) override {
    EXPECT_EQ(&sink, sink_);
    ++cancels;
    sink_ = nullptr;
  }
  ResponseSink* sink() { return sink_; }

  int resumes = 0;
  int cancels = 0;

 private:
  ResponseSink* sink_ = nullptr;
  int sent_ = 0;
  char piece_[kPiece];
};

class OneHandler final : public HandlerSelector {
 public:
  explicit OneHandler(Handler* h) : h_(h) {}
  Handler* select(RequestContext& ctx) override {
    listenIndexes.push_back(ctx.listenIndex);
    return h_;
  }
  std::vector<uint16_t> listenIndexes;  // what each request's context said

 private:
  Handler* h_;
};

// The worker's part, for one connection: posted connections wait until the test runs them.
class TestHost final : public ConnectionHost {
 public:
  void post(Connection* c) override { posted.push_back(c); }
  void handBack(Connection*) override { ++handedBack; }
  void released(Connection*) override { ++releasedCount; }
  std::vector<Connection*> posted;
  int handedBack = 0;
  int releasedCount = 0;
};

class ConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.update();
    env_ = ConnectionEnv{&cfg_,   &clock_,     &lifecycle_, &timers_, &eviction_, &ios_,
                         &stats_, &accessLog_, nullptr,     &errors_, &host_};
    env_.responses = &responses_;
    env_.refusals = &refusals_;
    conn_.attach(&env_, 0);
  }
  void TearDown() override {
    if (conn_.active()) conn_.close();
  }

  // A loopback TCP connection: the server end goes to the Connection, the client end stays here.
  // Small buffers on both sides make the client's socket fill up after a few pieces.
  void connect(Handler* handler, int bufferBytes = 0, uint16_t listenIndex = 0) {
    selector_ = std::make_unique<OneHandler>(handler);
    env_.handlers = selector_.get();
    UniqueFd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener.get(), 1), 0);
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    client_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (bufferBytes > 0) {
      ::setsockopt(client_.get(), SOL_SOCKET, SO_RCVBUF, &bufferBytes, sizeof bufferBytes);
    }
    ASSERT_EQ(::connect(client_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ASSERT_GE(fd, 0);
    if (bufferBytes > 0) ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufferBytes, sizeof bufferBytes);
    conn_.open(fd, false, listenIndex);
  }
  void send(const std::string& bytes) {
    ASSERT_EQ(::write(client_.get(), bytes.data(), bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  // What the client can read within `waitMs` (stops at the first quiet poll).
  std::string receive(int waitMs = 200) {
    std::string got;
    char buf[65536];
    pollfd p{client_.get(), POLLIN, 0};
    while (::poll(&p, 1, waitMs) == 1) {
      ssize_t n = ::recv(client_.get(), buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      waitMs = 20;
    }
    return got;
  }
  void runPosted() {
    while (!host_.posted.empty()) {
      std::vector<Connection*> batch;
      batch.swap(host_.posted);
      for (Connection* c : batch) {
        if (!c->active() || !c->posted()) continue;
        c->clearPosted();
        c->drive();
      }
    }
  }

  Config cfg_;
  WorkerClock clock_;
  Lifecycle lifecycle_ = Lifecycle::kServing;
  TimerHeap timers_{4};
  EvictionList eviction_{1};
  FreeListPool<IoState> ios_{1};
  WorkerStats stats_{};
  ResponseStats responses_{};
  RefusalLogger refusals_;
  AccessLog accessLog_;
  ErrorPages errors_{cfg_.errorPages, nullptr};
  TestHost host_;
  ConnectionEnv env_;
  std::unique_ptr<OneHandler> selector_;
  Connection conn_;
  UniqueFd client_;
};

TEST_F(ConnectionTest, SynchronousHandlerAnswersAndConnectionStaysOpen) {
  OkHandler ok;
  connect(&ok);
  send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  conn_.drive();
  std::string got = receive();
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << got;
  EXPECT_NE(got.find("\r\n\r\nok"), std::string::npos) << got;
  EXPECT_EQ(got.find("Connection:"), std::string::npos) << "keep-alive is HTTP/1.1's default";
  EXPECT_EQ(conn_.state(), ConnState::kIdle);
  EXPECT_EQ(stats_.requests.load(), 1u);
}

// The metrics count each response once it is sent: its status class, every byte handed to the
// kernel (head and body, as the client receives them) and one duration observation.
TEST_F(ConnectionTest, CountsEachSentResponseForTheMetrics) {
  OkHandler ok;
  connect(&ok);
  send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  conn_.drive();
  std::string first = receive();
  send("GET / HTTP/1.1\r\nBad Header\r\n\r\n");
  conn_.onEvent(EPOLLIN);
  std::string second = receive();
  ASSERT_EQ(second.rfind("HTTP/1.1 400 ", 0), 0u) << second;
  EXPECT_EQ(responses_.byClass[1].load(), 1u);  // 2xx
  EXPECT_EQ(responses_.byClass[3].load(), 1u);  // 4xx
  EXPECT_EQ(
      responses_.byClass[0].load() + responses_.byClass[2].load() + responses_.byClass[4].load(),
      0u);
  EXPECT_EQ(responses_.bytesSent.load(), first.size() + second.size());
  uint64_t observations = 0;
  for (const auto& b : responses_.duration) observations += b.load();
  EXPECT_EQ(observations, 2u);
  EXPECT_LT(responses_.durationSumUs.load(), 10'000'000u);
}

// The listen index the master passed with the fd reaches the selector with every request of the
// connection, and the worker gets it back for a hand-back.
TEST_F(ConnectionTest, EveryRequestCarriesTheListenIndexItsConnectionCameWith) {
  for (uint16_t index : {uint16_t{0}, uint16_t{3}, uint16_t{65535}}) {
    SCOPED_TRACE(index);
    OkHandler ok;
    connect(&ok, 0, index);
    EXPECT_EQ(conn_.listenIndex(), index);
    send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n");
    conn_.drive();
    std::string got = receive();
    EXPECT_EQ(ok.requests, 2) << got;
    EXPECT_EQ(selector_->listenIndexes, (std::vector<uint16_t>{index, index}));
    conn_.close();
  }
}

TEST_F(ConnectionTest, KeepAliveIsDecidedOncePerResponse) {
  struct Case {
    const char* name;
    std::string request;
    Lifecycle lifecycle;
    std::string connectionLine;  // "" : none
    bool staysOpen;
  };
  const Case cases[] = {
      {"HTTP/1.1 default", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", Lifecycle::kServing, "", true},
      {"client asks to close", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
       Lifecycle::kServing, "Connection: close", false},
      {"HTTP/1.0 keep-alive acknowledged", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
       Lifecycle::kServing, "Connection: keep-alive", true},
      {"HTTP/1.0 default", "GET / HTTP/1.0\r\n\r\n", Lifecycle::kServing, "Connection: close",
       false},
      {"quitting server", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", Lifecycle::kQuitting,
       "Connection: close", false},
      {"malformed request", "GET / HTTP/1.1\r\nBad Header\r\n\r\n", Lifecycle::kServing,
       "Connection: close", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    OkHandler ok;
    lifecycle_ = c.lifecycle;
    connect(&ok);
    send(c.request);
    conn_.drive();
    std::string got = receive();
    if (c.connectionLine.empty()) {
      EXPECT_EQ(got.find("Connection:"), std::string::npos) << got;
    } else {
      EXPECT_NE(got.find("\r\n" + c.connectionLine + "\r\n"), std::string::npos) << got;
    }
    EXPECT_EQ(conn_.active() && conn_.state() == ConnState::kIdle, c.staysOpen);
    if (conn_.active()) conn_.close();
  }
}

TEST_F(ConnectionTest, ContinueIsSentOnlyWhenTheBodyHasNotArrived) {
  struct Case {
    const char* name;
    bool bodyWithHead;
    bool expectContinue;
  };
  const Case cases[] = {
      {"head alone: the client waits for 100", false, true},
      {"body already sent with the head: no 100", true, false},
  };
  const std::string head =
      "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    OkHandler ok;
    connect(&ok);
    send(c.bodyWithHead ? head + "hello" : head);
    conn_.drive();
    std::string got = receive(c.bodyWithHead ? 200 : 100);
    if (!c.bodyWithHead) {
      EXPECT_EQ(got, "HTTP/1.1 100 Continue\r\n\r\n");
      EXPECT_EQ(ok.requests, 0);
      send("hello");
      conn_.onEvent(EPOLLIN);
      got += receive();
    }
    EXPECT_EQ(got.find("100 Continue") != std::string::npos, c.expectContinue) << got;
    EXPECT_NE(got.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << got;
    EXPECT_EQ(ok.requests, 1);
    conn_.close();
  }
}

// Data segments the server's end of the connection has sent (TCP_INFO).
uint32_t dataSegmentsOut(int fd) {
  tcp_info ti{};
  socklen_t len = sizeof ti;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return 0;
  return ti.tcpi_data_segs_out;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// Answers to pipelined requests that arrived together leave together: each whole answer waits
// in the batch while the next request is already buffered, and the batch goes out with the answer
// that finds no more input, or before the connection waits for anything else (the rest of a
// request, a 100 Continue, the close after an error), always in order.
TEST_F(ConnectionTest, PipelinedAnswersLeaveTogetherAndInOrder) {
  const std::string get = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string ok = "HTTP/1.1 200 OK\r\n";
  struct Case {
    const char* name;
    std::string first;   // sent at once
    std::string second;  // sent after the first answers arrived ("" : none)
    int okAnswers;       // 200 answers in all
    std::string last;    // what the last answer starts with, after all the 200s ("" : a 200)
    bool staysOpen;
    uint32_t maxSegments;  // data segments for the first write's answers (0: not checked)
  };
  const Case cases[] = {
      {"twenty at once: one send", repeat(get, 20), "", 20, "", true, 2},
      {"more than the batch holds", repeat(get, 400), "", 400, "", true, 20},
      {"the rest of a request comes later", repeat(get, 5) + "GET / HTTP/1.1\r\nHo",
       "st: x\r\n\r\n", 6, "", true, 2},
      {"100 Continue after the answers before it",
       repeat(get, 5) + "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                        "Content-Length: 5\r\n\r\n",
       "hello", 6, "", true, 0},
      {"a bad request closes after the answers before it",
       repeat(get, 5) + "GET / HTTP/1.1\r\nBad Header\r\n\r\n", "", 5, "HTTP/1.1 400 ", false, 0},
      {"the last asks to close",
       repeat(get, 5) + "GET / HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n",
       "", 6, "", false, 0},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    OkHandler handler;
    connect(&handler);
    int one = 1;  // as the worker's sockets: each send leaves at once, none waits for an ACK
    ASSERT_EQ(::setsockopt(conn_.fd(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
    send(c.first);
    conn_.drive();
    const uint32_t segments = conn_.active() ? dataSegmentsOut(conn_.fd()) : 0;
    std::string got = receive();
    if (c.maxSegments > 0) {
      EXPECT_GE(segments, 1u);
      EXPECT_LE(segments, c.maxSegments) << "answers leave in few sends";
    }
    if (!c.second.empty()) {
      if (c.first.find("100-continue") != std::string::npos) {
        EXPECT_TRUE(got.ends_with("\r\n\r\nokHTTP/1.1 100 Continue\r\n\r\n"))
            << "the 100 comes after the five answers: " << got;
      }
      send(c.second);
      conn_.onEvent(EPOLLIN);
      got += receive();
    }
    size_t at = 0;
    int answers = 0;
    for (size_t p; (p = got.find("HTTP/1.1 ", at)) != std::string::npos; at = p + 1) {
      if (got.compare(p, ok.size(), ok) == 0) {
        ++answers;
      } else if (got.compare(p, 21, "HTTP/1.1 100 Continue") != 0) {
        EXPECT_EQ(answers, c.okAnswers) << "only after every 200";
        EXPECT_FALSE(c.last.empty());
        EXPECT_EQ(got.compare(p, c.last.size(), c.last), 0) << got.substr(p, 40);
      }
    }
    EXPECT_EQ(answers, c.okAnswers);
    EXPECT_EQ(handler.requests, c.okAnswers);
    EXPECT_EQ(conn_.active() && conn_.state() == ConnState::kIdle, c.staysOpen);
    if (conn_.active()) conn_.close();
  }
}

// The asynchronous path: the handler answers after start() returned, streams 1 MiB in 16 KiB
// pieces, is not resumed while the client's socket is full, and is resumed when it drains.
TEST_F(ConnectionTest, AsynchronousHandlerStreamsWithBackpressure) {
  StreamingHandler h;
  connect(&h, 8192);
  send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  conn_.drive();
  ASSERT_NE(h.sink(), nullptr);
  EXPECT_EQ(conn_.state(), ConnState::kHandling);
  EXPECT_EQ(receive(50), "") << "nothing is sent before the handler answers";

  h.answer();  // later, e.g. when an upstream replied
  EXPECT_TRUE(conn_.posted());
  runPosted();
  EXPECT_EQ(conn_.state(), ConnState::kWriting);
  int resumesWhenFull = h.resumes;
  ASSERT_LT(resumesWhenFull, StreamingHandler::kPieces) << "the socket never filled up";
  // The client reads nothing: more events and drives do not resume the handler (it is paused).
  for (int i = 0; i < 5; ++i) conn_.onEvent(EPOLLOUT);
  runPosted();
  EXPECT_EQ(h.resumes, resumesWhenFull);

  // The client drains; every EPOLLOUT lets the connection send the queue and resume the handler.
  std::string got;
  const size_t total = StreamingHandler::kPiece * StreamingHandler::kPieces;
  for (int round = 0; round < 10000 && conn_.state() == ConnState::kWriting; ++round) {
    got += receive(5);
    conn_.onEvent(EPOLLOUT);
    runPosted();
  }
  got += receive(50);
  EXPECT_GT(h.resumes, resumesWhenFull);
  EXPECT_EQ(conn_.state(), ConnState::kIdle) << "the response ended and the connection is kept";
  size_t bodyAt = got.find("\r\n\r\n");
  ASSERT_NE(bodyAt, std::string::npos);
  EXPECT_EQ(got.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  ASSERT_EQ(got.size() - bodyAt - 4, total);
  for (int i = 0; i < StreamingHandler::kPieces; ++i) {
    ASSERT_EQ(got[bodyAt + 4 + static_cast<size_t>(i) * StreamingHandler::kPiece], 'a' + i % 26)
        << "piece " << i;
  }
  EXPECT_EQ(h.cancels, 0);
}

TEST_F(ConnectionTest, AsynchronousFailureBeforeTheHeadIsAnErrorResponse) {
  StreamingHandler h;
  connect(&h);
  send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  conn_.drive();
  ASSERT_NE(h.sink(), nullptr);
  h.sink()->fail(502);
  runPosted();
  std::string got = receive();
  EXPECT_EQ(got.rfind("HTTP/1.1 502 ", 0), 0u) << got;
  EXPECT_NE(got.find("Connection: close"), std::string::npos);
  EXPECT_FALSE(conn_.active());
  EXPECT_EQ(h.cancels, 0);
}

TEST_F(ConnectionTest, ClosingCancelsAnAsynchronousHandler) {
  StreamingHandler h;
  connect(&h);
  send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
  conn_.drive();
  ASSERT_EQ(conn_.state(), ConnState::kHandling);
  conn_.evict();  // e.g. a timeout
  EXPECT_EQ(h.cancels, 1);
  EXPECT_FALSE(conn_.active());
  EXPECT_EQ(host_.releasedCount, 1);
}

}  // namespace
}  // namespace hs
