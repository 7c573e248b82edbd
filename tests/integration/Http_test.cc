// Protocol behaviour: HEAD, keep-alive rules of HTTP/1.0 and 1.1, pipelining, and error statuses.
#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

std::string siteFile(const std::string& target) {
  return readFile(siteRoot() + target).value_or("<missing " + target + ">");
}

class HttpTest : public ServerTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(startServer()); }
};

TEST_F(HttpTest, HeadHasSameHeadersAsGetAndNoBody) {
  Client getConn(port());
  Client headConn(port());
  ASSERT_TRUE(getConn.ok() && headConn.ok());
  Response get = getConn.exchange(getRequest("/index.html"));
  Response head = headConn.exchange(getRequest("/index.html", "", "HEAD"), /*head=*/true);
  ASSERT_EQ(get.status, 200) << get.describe();
  ASSERT_EQ(head.status, 200) << head.describe();
  EXPECT_EQ(head.statusLine, get.statusLine);

  auto withoutDate = [](const Response& r) {
    std::vector<std::pair<std::string, std::string>> h;
    for (const auto& kv : r.headers) {
      if (kv.first != "date") h.push_back(kv);
    }
    std::sort(h.begin(), h.end());
    return h;
  };
  EXPECT_EQ(withoutDate(head), withoutDate(get)) << "GET:\n"
                                                 << get.describe() << "\nHEAD:\n"
                                                 << head.describe();
  auto getDate = parseImfFixdate(get.header("date"));
  auto headDate = parseImfFixdate(head.header("date"));
  ASSERT_TRUE(getDate && headDate);
  EXPECT_LE(std::labs(*getDate - *headDate), 1L);

  // Had HEAD sent a body, it would be read here as the start of the next response.
  Response next = headConn.exchange(getRequest("/robots.txt"));
  ASSERT_EQ(next.status, 200) << next.describe();
  EXPECT_EQ(next.body, siteFile("/robots.txt"));
}

TEST_F(HttpTest, KeepAliveAnswersTwoRequests) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response first = c.exchange(getRequest("/index.html"));
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_FALSE(first.closed);
  EXPECT_EQ(first.body, siteFile("/index.html"));
  Response second = c.exchange(getRequest("/style.css"));
  ASSERT_EQ(second.status, 200) << second.describe();
  EXPECT_EQ(second.body, siteFile("/style.css"));
}

TEST_F(HttpTest, Http10WithoutConnectionHeaderIsClosed) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange("GET /robots.txt HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, siteFile("/robots.txt"));
  EXPECT_TRUE(r.closed || c.waitClosed(scaled(1000))) << "server kept an HTTP/1.0 connection open";
}

// The last segment of a response that ends its connection is sent with MSG_MORE so that the FIN
// leaves with it; were the close not to follow at once, the bytes would sit in the kernel (for
// ever, or 200 ms under TCP_CORK rules). Every answer, page or error, must arrive at once.
TEST_F(HttpTest, ClosingResponsesAreNotHeldBack) {
  const char* requests[] = {"GET /robots.txt HTTP/1.0\r\n\r\n", "GET /index.html HTTP/1.0\r\n\r\n",
                            "GET /no-such-file HTTP/1.0\r\n\r\n",
                            "HEAD /style.css HTTP/1.0\r\n\r\n"};
  int slow = 0;  // a held-back segment makes every exchange slow; a scheduling hiccup, one
  for (int round = 0; round < 5; ++round) {
    for (const char* req : requests) {
      SCOPED_TRACE(req);
      Client c(port());
      ASSERT_TRUE(c.ok());
      const auto start = std::chrono::steady_clock::now();
      ASSERT_TRUE(c.send(req));
      EXPECT_TRUE(c.waitClosed(scaled(1000))) << "no EOF";
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - start)
                          .count();
      if (ms >= 150) ++slow;
    }
  }
  EXPECT_LE(slow, 3) << slow << " of 20 exchanges took 150 ms or more";
  // And the bytes are all there: the whole page, then EOF.
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange("GET /index.html HTTP/1.0\r\n\r\n");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, siteFile("/index.html"));
}

TEST_F(HttpTest, Http10KeepAliveIsHonoured) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  const std::string req = "GET /robots.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  Response r = c.exchange(req);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(toLower(r.header("connection")), "keep-alive");
  EXPECT_FALSE(r.closed);
  Response again = c.exchange(req);
  ASSERT_EQ(again.status, 200) << again.describe();
  EXPECT_EQ(again.body, siteFile("/robots.txt"));
}

TEST_F(HttpTest, ConnectionCloseOnHttp11IsClosed) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/robots.txt", "Connection: close\r\n"));
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, siteFile("/robots.txt"));
  EXPECT_TRUE(r.closed || c.waitClosed(scaled(1000))) << "server ignored Connection: close";
}

TEST_F(HttpTest, PipelinedRequestsAreAnsweredInOrder) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.send(getRequest("/index.html") + getRequest("/style.css", "", "HEAD") +
                     getRequest("/robots.txt")));
  Response r1 = c.read();
  Response r2 = c.read(/*head=*/true);
  Response r3 = c.read();
  ASSERT_EQ(r1.status, 200) << r1.describe();
  EXPECT_EQ(r1.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r1.body, siteFile("/index.html"));
  ASSERT_EQ(r2.status, 200) << r2.describe();
  EXPECT_EQ(r2.header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(r2.header("content-length"), std::to_string(siteFile("/style.css").size()));
  ASSERT_EQ(r3.status, 200) << r3.describe();
  EXPECT_EQ(r3.header("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r3.body, siteFile("/robots.txt"));
}

TEST_F(HttpTest, PostIs405WithAllow) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange(getRequest("/index.html", "Content-Length: 0\r\n", "POST"));
  ASSERT_EQ(r.status, 405) << r.describe();
  EXPECT_EQ(r.header("allow"), "GET, HEAD, OPTIONS");
}

TEST_F(HttpTest, ErrorStatuses) {
  struct Case {
    const char* comment;
    std::string request;
    int status;
  };
  const Case cases[] = {
      {"unknown method", "BREW / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 501},
      {"HTTP/2.0 on the request line", "GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505},
      {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"control bytes as method", "\x01\x02 / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.comment);
    Client c(port());
    ASSERT_TRUE(c.ok());
    Response r = c.exchange(tc.request);
    EXPECT_EQ(r.status, tc.status) << r.describe();
  }
}

TEST_F(HttpTest, GarbageRequestIs400AndClosed) {
  Client c(port());
  ASSERT_TRUE(c.ok());
  Response r = c.exchange("\x01\x02 / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  ASSERT_EQ(r.status, 400) << r.describe();
  EXPECT_TRUE(r.closed || c.waitClosed(scaled(1000))) << "connection left open after a 400";
}

TEST_F(HttpTest, RawExchangeOfBadVersionGets505) {
  std::string out = rawExchange(port(), "GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 505 ")) << out.substr(0, 200);
}

}  // namespace
}  // namespace hs::integration
