#include "StatusHandler.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <memory>
#include <set>
#include <string>

#include "HandlerHarness.h"
#include "HandlerTable.h"

namespace hs {
namespace {

using test::Answer;
using test::Exchange;

class StatusHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    shared_ = std::make_unique<SharedState>();
    shared_->masterPid.store(42);
    shared_->startTime.store(1'700'000'000 - 5);
    shared_->accepted.store(7);
    WorkerStats& w = shared_->workers[0];
    w.pid.store(100);
    w.live.store(3);
    w.taken.store(6);
    w.requests.store(9);
    w.reading.store(1);
    w.writing.store(1);
  }
  Answer answer(const std::string& raw, const sockaddr_in6& peer, bool allowRemote = false) {
    ErrorPages errors(pages_, nullptr);
    StatusHandler handler(shared_.get(), allowRemote, &errors);
    Exchange ex(raw, peer, 1000);
    ResponsePlan plan;
    test::NoSink sink;
    EXPECT_EQ(handler.start(ex.ctx(), plan, sink), Reply::kReady);
    return test::render(plan);
  }

  std::unique_ptr<SharedState> shared_;
  std::map<int, std::string> pages_;
};

// nginx's stub_status counts its own request under Writing; so does ours, though a synchronous
// handler answers while its connection is still counted as reading.
TEST_F(StatusHandlerTest, CountsItsOwnRequestUnderWriting) {
  shared_->workers[0].pid.store(::getpid());  // this process is the worker answering
  Answer a = answer("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", test::loopbackPeer());
  EXPECT_NE(a.body.find("Reading: 0 Writing: 2 Waiting: 1 \n"), std::string::npos) << a.body;
  Answer j = answer("GET /status?json HTTP/1.1\r\nHost: x\r\n\r\n", test::loopbackPeer());
  EXPECT_NE(j.body.find("\"reading\":0,\"writing\":2,\"waiting\":1,"), std::string::npos) << j.body;
}

// The JSON form uses the text form's names: every key is a word of the text (case aside).
TEST_F(StatusHandlerTest, JsonAndTextUseTheSameNames) {
  Answer text = answer("GET /status HTTP/1.1\r\nHost: x\r\n\r\n", test::loopbackPeer());
  Answer json = answer("GET /status?json HTTP/1.1\r\nHost: x\r\n\r\n", test::loopbackPeer());
  std::string lower = text.body;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::set<std::string> keys;
  for (size_t at = json.body.find('"'); at != std::string::npos;
       at = json.body.find('"', json.body.find('"', at + 1) + 1)) {
    size_t end = json.body.find('"', at + 1);
    keys.insert(json.body.substr(at + 1, end - at - 1));
  }
  EXPECT_GE(keys.size(), 14u) << json.body;
  for (const std::string& key : keys) {
    std::string word = key == "workers" ? "worker" : key;
    bool found = false;
    for (size_t at = lower.find(word); at != std::string::npos && !found;
         at = lower.find(word, at + 1)) {
      bool startOk = at == 0 || !std::isalpha(static_cast<unsigned char>(lower[at - 1]));
      bool endOk = at + word.size() == lower.size() ||
                   !std::isalpha(static_cast<unsigned char>(lower[at + word.size()]));
      found = startOk && endOk;
    }
    EXPECT_TRUE(found) << "JSON key \"" << key << "\" is not a word of the text form:\n"
                       << text.body;
  }
}

TEST_F(StatusHandlerTest, AnswersByTable) {
  struct Case {
    const char* name;
    std::string request;
    bool remote;
    bool allowRemote;
    int status;
    std::string line;  // a header line the head must have ("" : none checked)
    std::string body;  // a piece the body must contain ("" : body must be empty)
  };
  const Case cases[] = {
      {"text form", "GET /status HTTP/1.1\r\nHost: x\r\n\r\n", false, false, 200,
       "Content-Type: text/plain; charset=utf-8",
       "Active connections: 3 \nserver accepts handled requests\n 7 6 9 \nReading: 1 Writing: 1 "
       "Waiting: 1 \n"},
      {"json form", "GET /status?json HTTP/1.1\r\nHost: x\r\n\r\n", false, false, 200,
       "Content-Type: application/json",
       "{\"active\":3,\"accepts\":7,\"handled\":6,\"requests\":9,"},
      {"uptime from the context's clock", "GET /status HTTP/1.1\r\nHost: x\r\n\r\n", false, false,
       200, "", "uptime 5 s"},
      {"HEAD: head only", "HEAD /status HTTP/1.1\r\nHost: x\r\n\r\n", false, false, 200,
       "Cache-Control: no-store", ""},
      {"remote client refused", "GET /status HTTP/1.1\r\nHost: x\r\n\r\n", true, false, 403, "",
       "403"},
      {"remote client allowed", "GET /status HTTP/1.1\r\nHost: x\r\n\r\n", true, true, 200, "",
       "Active connections"},
      {"POST not allowed", "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", false,
       false, 405, "Allow: GET, HEAD, OPTIONS", "405"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Answer a =
        answer(c.request, c.remote ? test::remotePeer() : test::loopbackPeer(), c.allowRemote);
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

// The single point of handler selection: the status path (normalized, as every path is) goes to
// the status handler, everything else to the static-file handler.
TEST(HandlerTableTest, SelectsTheStatusHandlerOnlyForTheStatusPath) {
  struct Case {
    const char* name;
    std::string statusPath;
    std::string target;
    bool status;
  };
  const Case cases[] = {
      {"the status path", "/status", "/status", true},
      {"with a query", "/status", "/status?json", true},
      {"normalized first", "/status", "/x/../status", true},
      {"another path", "/status", "/index.html", false},
      {"a prefix is not enough", "/status", "/statusx", false},
      {"no status page configured", "", "/status", false},
      {"a refused target", "/status", "/%2Fstatus", false},
  };
  auto shared = std::make_unique<SharedState>();
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Config cfg;
    cfg.statusPath = c.statusPath;
    HandlerTable table(cfg, nullptr, shared.get(), "b");
    Exchange ex("GET " + c.target + " HTTP/1.1\r\nHost: x\r\n\r\n", test::loopbackPeer(), 1000);
    Handler* h = table.select(ex.ctx());
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(dynamic_cast<StatusHandler*>(h) != nullptr, c.status);
    EXPECT_EQ(dynamic_cast<StaticFileHandler*>(h) != nullptr, !c.status);
  }
}

}  // namespace
}  // namespace hs
