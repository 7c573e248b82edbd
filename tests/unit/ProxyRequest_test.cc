// proxy_pass parsing (ProxyTarget) and the request head sent upstream (ProxyRequest): the target
// as sent or with the location's prefix replaced, hop-by-hop fields dropped, the default and
// configured header rules.
#include "ProxyRequest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "HandlerHarness.h"
#include "ProxyTargets.h"

namespace hs {
namespace {

TEST(ProxyPassTest, ParsesNginxSyntax) {
  struct Case {
    const char* value;
    const char* address;  // "" : refused
    const char* proxyHost;
    bool hasUri;
    const char* uri;
  } cases[] = {
      {"http://127.0.0.1:9001", "127.0.0.1:9001", "127.0.0.1:9001", false, ""},
      {"http://127.0.0.1", "127.0.0.1:80", "127.0.0.1", false, ""},
      {"http://127.0.0.1:80/", "127.0.0.1:80", "127.0.0.1", true, "/"},
      {"HTTP://10.0.0.1:8080/v1/x", "10.0.0.1:8080", "10.0.0.1:8080", true, "/v1/x"},
      {"http://[::1]:9000/a", "[::1]:9000", "[::1]:9000", true, "/a"},
      {"http://[::1]", "[::1]:80", "[::1]", false, ""},
      {"http://unix:/run/app.sock", "unix:/run/app.sock", "localhost", false, ""},
      {"http://unix:/run/app.sock:", "unix:/run/app.sock", "localhost", false, ""},
      {"http://unix:/run/app.sock:/api/", "unix:/run/app.sock", "localhost", true, "/api/"},
      {"https://127.0.0.1", "", "", false, ""},
      {"127.0.0.1:80", "", "", false, ""},
      {"http://backend:80", "", "", false, ""},
      {"http://127.0.0.1:0", "", "", false, ""},
      {"http://127.0.0.1:65536", "", "", false, ""},
      {"http://127.0.0.1:80/a b", "", "", false, ""},
      {"http://unix:relative.sock", "", "", false, ""},
      {"http://", "", "", false, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.value);
    ProxyPass p;
    const std::string why = parseProxyPass(c.value, &p);
    if (c.address[0] == '\0') {
      EXPECT_NE(why, "");
      continue;
    }
    ASSERT_EQ(why, "");
    EXPECT_EQ(p.address, c.address);
    EXPECT_EQ(p.proxyHost, c.proxyHost);
    EXPECT_EQ(p.hasUri, c.hasUri);
    EXPECT_EQ(p.uri, c.uri);
  }
}

// The head written for `raw` with `settings`' header rules and proxy_pass `pass` (prefix `cut`).
std::string requestFor(const std::string& raw, const std::string& pass, size_t cut,
                       const std::vector<HeaderRule>& rules = {}, int64_t body = -1) {
  test::Exchange x(raw, test::remotePeer(), 0);
  x.ctx().head = std::string_view(raw).substr(0, raw.find("\r\n\r\n") + 4);
  ProxyPass p;
  EXPECT_EQ(parseProxyPass(pass, &p), "");
  ProxyTarget t;
  t.proxyHost = p.proxyHost;
  t.hasUri = p.hasUri;
  t.uri = p.uri;
  t.cut = cut;
  LocationSettings s;
  s.proxySetHeaders = rules;
  EXPECT_EQ(ProxyTargets::headerRules(s, &t.headers), "");
  char out[8192], scratch[4096];
  const size_t n = writeProxyRequest(x.ctx(), t, body, out, sizeof out, scratch, sizeof scratch);
  return std::string(out, n);
}

TEST(ProxyRequestTest, TargetAsNginxPassesIt) {
  struct Case {
    const char* name;
    const char* target;
    const char* pass;
    size_t cut;
    const char* line;
  } cases[] = {
      {"no URI: as sent", "/a/%7Eb/../c?x=1", "http://127.0.0.1:9", 3, "GET /a/%7Eb/../c?x=1 "},
      {"prefix replaced", "/api/x?y=1", "http://127.0.0.1:9/v1/", 5, "GET /v1/x?y=1 "},
      {"prefix to root", "/api/x", "http://127.0.0.1:9/", 5, "GET /x "},
      {"re-escaped", "/api/a%20b%3F", "http://127.0.0.1:9/v1/", 5, "GET /v1/a%20b%3F "},
      {"normalized first", "/api/a/../b", "http://127.0.0.1:9/v1/", 5, "GET /v1/b "},
      {"exact location", "/exact?q", "http://127.0.0.1:9/other", 6, "GET /other?q "},
      {"empty query kept", "/api/x?", "http://127.0.0.1:9/v1/", 5, "GET /v1/x? "},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string head = requestFor(
        std::string("GET ") + c.target + " HTTP/1.1\r\nHost: example.test\r\n\r\n", c.pass, c.cut);
    EXPECT_TRUE(head.starts_with(std::string(c.line) + "HTTP/1.1\r\n")) << head;
  }
}

TEST(ProxyRequestTest, FieldsDroppedAndSet) {
  const std::string head = requestFor(
      "POST /x HTTP/1.1\r\nHost: example.test:8080\r\nConnection: keep-alive, X-Secret\r\n"
      "X-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: x\r\n"
      "Expect: 100-continue\r\nContent-Length: 3\r\nX-Forwarded-For: 1.1.1.1\r\n"
      "Forwarded: for=1.1.1.1\r\nCookie: a=1\r\nCookie: b=2\r\n\r\nabc",
      "http://127.0.0.1:9001", 0, {}, 3);
  EXPECT_EQ(head,
            "POST /x HTTP/1.1\r\nCookie: a=1\r\nCookie: b=2\r\nHost: 127.0.0.1:9001\r\n"
            "X-Forwarded-For: 1.1.1.1, 192.0.2.1\r\nX-Real-IP: 192.0.2.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "Forwarded: for=1.1.1.1, for=192.0.2.1;proto=http;host=\"example.test:8080\"\r\n"
            "Content-Length: 3\r\n\r\n");
}

TEST(ProxyRequestTest, ProxySetHeaderReplacesRemovesAndAdds) {
  const std::string head =
      requestFor("GET /p?q=1 HTTP/1.1\r\nHost: example.test\r\nX-Mine: client\r\n\r\n",
                 "http://127.0.0.1:9001", 0,
                 {{"host", "$host", false},
                  {"X-Forwarded-For", "", false},
                  {"Forwarded", "", false},
                  {"X-Mine", "$request_uri|$remote_addr|$proxy_host|$http_x_none", false},
                  {"X-Empty", "$http_x_none", false}});
  EXPECT_EQ(head,
            "GET /p?q=1 HTTP/1.1\r\nhost: example.test\r\nX-Real-IP: 192.0.2.1\r\n"
            "X-Forwarded-Proto: http\r\nX-Mine: /p?q=1|192.0.2.1|127.0.0.1:9001|\r\n\r\n");
}

}  // namespace
}  // namespace hs
