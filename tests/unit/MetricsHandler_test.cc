#include "MetricsHandler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>

#include "HandlerHarness.h"
#include "HandlerTable.h"

namespace hs {
namespace {

using test::Answer;
using test::Exchange;

class MetricsHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = std::make_unique<SharedState>();
    shared_->masterPid.store(42);
    shared_->accepted.store(7);
    WorkerStats& w = shared_->workers[0];
    w.pid.store(::getpid());  // the worker answering is this process
    w.live.store(3);
    w.taken.store(6);
    w.requests.store(9);
    w.reading.store(1);  // the scrape itself
    recordResponse(shared_->responses[0], 404, 100, 300);
  }
  Answer answer(const std::string& raw, const sockaddr_in6& peer, bool allowRemote,
                ResponsePlan& plan) {
    ErrorPages errors(pages_, nullptr);
    MetricsHandler handler(shared_.get(), allowRemote, &errors);
    Exchange ex(raw, peer, 1000);
    test::NoSink sink;
    EXPECT_EQ(handler.start(ex.ctx(), plan, sink), Reply::kReady);
    return test::render(plan);
  }

  std::unique_ptr<SharedState> shared_;
  std::map<int, std::string> pages_;
};

TEST_F(MetricsHandlerTest, AnswersByTable) {
  struct Case {
    const char* name;
    std::string request;
    bool remote;
    bool allowRemote;
    int status;
    std::string line;  // a header line the head must have ("" : none checked)
    std::string body;  // a piece the body must contain ("" : body must be empty)
  };
  const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  const Case cases[] = {
      {"exposition format", get, false, false, 200,
       "Content-Type: text/plain; version=0.0.4; charset=utf-8",
       "\nhttpserver_http_responses_total{code=\"4xx\"} 1\n"},
      {"not cached", get, false, false, 200, "Cache-Control: no-store",
       "\nhttpserver_connections_accepted_total 7\n"},
      {"its own request counts as writing", get, false, false, 200, "",
       "\nhttpserver_connections_writing 1\n"},
      {"and no longer as reading", get, false, false, 200, "",
       "\nhttpserver_connections_reading 0\n"},
      {"HEAD: head only", "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", false, false, 200,
       "Cache-Control: no-store", ""},
      {"remote client refused", get, true, false, 403, "", "403"},
      {"remote client allowed", get, true, true, 200, "", "httpserver_sent_bytes_total 100\n"},
      {"POST not allowed", "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false,
       false, 405, "Allow: GET, HEAD, OPTIONS", "405"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ResponsePlan plan;
    Answer a = answer(c.request, c.remote ? test::remotePeer() : test::loopbackPeer(),
                      c.allowRemote, plan);
    EXPECT_EQ(a.status, c.status) << a.head;
    if (!c.line.empty()) {
      EXPECT_TRUE(a.hasLine(c.line)) << a.head;
    }
    if (c.body.empty()) {
      EXPECT_EQ(a.body, "");
    } else {
      EXPECT_NE(a.body.find(c.body), std::string::npos) << a.body;
    }
  }
}

// The text is rendered into the plan's buffer: a second scrape with the same plan finds it large
// enough and does not grow it.
TEST_F(MetricsHandlerTest, ReusesThePlansBuffer) {
  ResponsePlan plan;
  const std::string get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  Answer first = answer(get, test::loopbackPeer(), false, plan);
  const char* buffer = plan.generated.data();
  size_t capacity = plan.generated.capacity();
  Answer second = answer(get, test::loopbackPeer(), false, plan);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(plan.generated.data(), buffer);
  EXPECT_EQ(plan.generated.capacity(), capacity);
}

// Selection mirrors the status page's: the normalized path, exactly.
TEST(HandlerTableTest, SelectsTheMetricsHandlerOnlyForTheMetricsPath) {
  struct Case {
    const char* name;
    std::string metricsPath;
    std::string target;
    bool metrics;
  };
  const Case cases[] = {
      {"the metrics path", "/metrics", "/metrics", true},
      {"with a query", "/metrics", "/metrics?x=1", true},
      {"normalized first", "/metrics", "/a/../metrics", true},
      {"another path", "/metrics", "/index.html", false},
      {"a prefix is not enough", "/metrics", "/metricsx", false},
      {"no endpoint configured", "", "/metrics", false},
      {"a refused target", "/metrics", "/%2Fmetrics", false},
  };
  auto shared = std::make_unique<SharedState>();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Config cfg;
    cfg.metricsPath = c.metricsPath;
    cfg.statusPath = "/status";
    HandlerTable table(cfg, nullptr, shared.get(), "b");
    Exchange ex("GET " + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n", test::loopbackPeer(), 1000);
    Handler* h = table.select(ex.ctx());
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(dynamic_cast<MetricsHandler*>(h) != nullptr, c.metrics);
    EXPECT_EQ(dynamic_cast<StaticFileHandler*>(h) != nullptr, !c.metrics);
  }
}

}  // namespace
}  // namespace hs
