#include "LogFormat.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <string>

namespace hs {
namespace {

class LogFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    peer_.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.7", &peer_.sin_addr);
    f_.peer = reinterpret_cast<const sockaddr*>(&peer_);
    f_.request = "GET /a%20b?x=1 HTTP/1.1";
    f_.method = "GET";
    f_.uri = "/a b";
    f_.args = "x=1";
    f_.hasArgs = true;
    f_.host = "site.test";
    f_.serverName = "site.test";
    f_.status = 200;
    f_.bytesSent = 850;
    f_.bodyBytesSent = 612;
    f_.now = {1'764'488'190, 123'456'789};  // 2025-11-30T07:36:30.123Z
    f_.requestTimeUs = 1'234'567;
    f_.connection = 42;
    f_.connectionRequests = 3;
    f_.pid = 777;
    f_.header = [](const void* ctx, std::string_view name, std::string_view* v) {
      const auto& h = *static_cast<const std::map<std::string, std::string, std::less<>>*>(ctx);
      const auto it = h.find(name);
      if (it == h.end()) return false;
      *v = it->second;
      return true;
    };
    f_.headerCtx = &headers_;
  }

  std::string render(const LogFormat& fmt, size_t cap = 4096) {
    std::string out(cap, '\0');
    out.resize(fmt.render(f_, out.data(), cap));
    return out;
  }

  std::string render(const char* format, LogEscape escape = LogEscape::kDefault) {
    LogFormat fmt;
    std::string err;
    EXPECT_TRUE(fmt.compile(format, escape, &err)) << err;
    return render(fmt);
  }

  sockaddr_in peer_{};
  LogFields f_;
  std::map<std::string, std::string, std::less<>> headers_ = {{"user_agent", "curl/8.0"},
                                                              {"x_odd", "a\"b\\c\n\x01\xc3\xa9"}};
};

TEST_F(LogFormatTest, CombinedIsNginxs) {
  EXPECT_EQ(render(LogFormat::combined()),
            "192.0.2.7 - - [30/Nov/2025:07:36:30 +0000] \"GET /a%20b?x=1 HTTP/1.1\" 200 612 \"-\" "
            "\"curl/8.0\"\n");
  f_.remoteUser = "alice";
  f_.bodyBytesSent = 0;
  f_.status = 404;
  EXPECT_EQ(render(LogFormat::combined()),
            "192.0.2.7 - alice [30/Nov/2025:07:36:30 +0000] \"GET /a%20b?x=1 HTTP/1.1\" 404 0 "
            "\"-\" \"curl/8.0\"\n");
}

TEST_F(LogFormatTest, EveryVariable) {
  struct Case {
    const char* format;
    const char* line;
  };
  const Case cases[] = {
      {"$remote_addr", "192.0.2.7"},
      {"$remote_user", "-"},
      {"$time_local", "30/Nov/2025:07:36:30 +0000"},
      {"$time_iso8601", "2025-11-30T07:36:30+00:00"},
      {"$msec", "1764488190.123"},
      {"$request", "GET /a%20b?x=1 HTTP/1.1"},
      {"$request_method", "GET"},
      {"$uri", "/a b"},
      {"$args", "x=1"},
      {"$host", "site.test"},
      {"$server_name", "site.test"},
      {"$status", "200"},
      {"$bytes_sent", "850"},
      {"$body_bytes_sent", "612"},
      {"$request_time", "1.234"},
      {"$http_user_agent", "curl/8.0"},
      {"$http_User_Agent", "curl/8.0"},
      {"$http_referer", "-"},
      {"$connection", "42"},
      {"$connection_requests", "3"},
      {"$pid", "777"},
      {"${status}x", "200x"},
      {"a$status$status b", "a200200 b"},
      {"no variables", "no variables"},
      {"$http_x_odd", "a\\x22b\\x5Cc\\x0A\\x01\\xC3\\xA9"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.format);
    EXPECT_EQ(render(c.format), std::string(c.line) + "\n");
  }
  f_.hasArgs = false;
  f_.args = "";
  EXPECT_EQ(render("$args"), "-\n");
}

// nginx's upstream variables: "-" without an upstream, one value per attempt joined by ", ".
TEST_F(LogFormatTest, UpstreamVariables) {
  struct Case {
    const char* name;
    uint32_t tries;
    const char* line;
  };
  const Case cases[] = {
      {"no upstream", 0, "- - -"},
      {"one attempt", 1, "unix:/run/app.sock 404 0.012"},
      {"retried", 2, "unix:/run/app.sock, 127.0.0.1:9000 502, 200 0.000, 1.234"},
  };
  f_.upstreamAddr[0] = "unix:/run/app.sock";
  f_.upstreamStatus[0] = 404;
  f_.upstreamTimeUs[0] = 12'345;
  f_.upstreamAddr[1] = "127.0.0.1:9000";
  f_.upstreamStatus[1] = 200;
  f_.upstreamTimeUs[1] = 1'234'999;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    f_.upstreamTries = c.tries;
    if (c.tries == 2) {
      f_.upstreamStatus[0] = 502;
      f_.upstreamTimeUs[0] = 999;
    }
    EXPECT_EQ(render("$upstream_addr $upstream_status $upstream_response_time"),
              std::string(c.line) + "\n");
  }
  f_.upstreamTries = 0;
  EXPECT_EQ(render("{\"a\":\"$upstream_addr\"}", LogEscape::kJson), "{\"a\":\"\"}\n");
}

TEST_F(LogFormatTest, JsonAndNoneEscaping) {
  EXPECT_EQ(render("{\"ua\":\"$http_x_odd\",\"u\":\"$remote_user\"}", LogEscape::kJson),
            "{\"ua\":\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\",\"u\":\"\"}\n");
  EXPECT_EQ(render("$http_x_odd", LogEscape::kNone), "a\"b\\c\n\x01\xc3\xa9\n");
}

TEST_F(LogFormatTest, CompileErrors) {
  struct Case {
    const char* format;
    const char* err;
  };
  const Case cases[] = {
      {"$nope", "unknown variable '$nope'"},
      {"$", "invalid variable name at '$'"},
      {"a $ b", "invalid variable name at '$ b'"},
      {"${status", "invalid variable name at '${status'"},
      {"${}", "invalid variable name at '${}'"},
      {"$http_", "unknown variable '$http_'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.format);
    LogFormat fmt;
    std::string err;
    EXPECT_FALSE(fmt.compile(c.format, LogEscape::kDefault, &err));
    EXPECT_EQ(err, c.err);
  }
}

// expand(): the value alone (fastcgi_param): no escaping, no line end, a variable that is not
// found is empty, and a value that does not fit is refused rather than cut.
TEST_F(LogFormatTest, ExpandGivesTheValueAlone) {
  f_.requestUri = "/a%20b?x=1";
  f_.documentRoot = "/srv";
  f_.scriptName = "/a b";
  struct Case {
    const char* format;
    const char* value;
  };
  const Case cases[] = {
      {"$document_root$fastcgi_script_name", "/srv/a b"},
      {"$request_uri", "/a%20b?x=1"},
      {"$uri$is_args$args", "/a b?x=1"},
      {"$http_x_odd", "a\"b\\c\n\x01\xc3\xa9"},
      {"[$remote_user][$http_none][$fastcgi_path_info][$content_type]", "[][][][]"},
      {"plain", "plain"},
      {"", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.format);
    LogFormat fmt;
    std::string err;
    ASSERT_TRUE(fmt.compile(c.format, LogEscape::kNone, &err)) << err;
    char out[64];
    const size_t n = fmt.expand(f_, out, sizeof out);
    ASSERT_NE(n, SIZE_MAX);
    EXPECT_EQ(std::string(out, n), c.value);
    EXPECT_EQ(fmt.expand(f_, out, std::strlen(c.value) + 1), n);
    if (n > 0) {
      EXPECT_EQ(fmt.expand(f_, out, n), SIZE_MAX) << "one byte short";
    }
  }
  EXPECT_EQ(render("[$request_uri][$document_root][$server_port]"), "[/a%20b?x=1][/srv][-]\n");
}

TEST_F(LogFormatTest, LongValuesAreCutNotDropped) {
  const std::string line = render(LogFormat::combined(), 20);
  EXPECT_EQ(line, "192.0.2.7 - - [30/N\n");
  EXPECT_EQ(render(LogFormat::combined(), 1), "\n");
}

}  // namespace
}  // namespace hs
