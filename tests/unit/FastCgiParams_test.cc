#include "FastCgiParams.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "HandlerHarness.h"

namespace hs {
namespace {

using Params = std::multimap<std::string, std::string>;

// Reads the PARAMS records back out of the encoder's bytes into name -> value.
Params decodeParams(std::string_view bytes) {
  std::string stream;
  while (bytes.size() >= 8) {
    const auto* h = reinterpret_cast<const unsigned char*>(bytes.data());
    size_t len = (size_t{h[4]} << 8) | h[5];
    size_t pad = h[6];
    EXPECT_EQ(h[1], 4) << "not a PARAMS record";
    stream.append(bytes.substr(8, len));
    bytes.remove_prefix(8 + len + pad);
  }
  Params out;
  auto length = [&](size_t* pos) {
    auto b = static_cast<unsigned char>(stream[*pos]);
    if (b < 128) return static_cast<size_t>(stream[(*pos)++]);
    size_t v = ((size_t{b} & 0x7f) << 24) |
               (size_t{static_cast<unsigned char>(stream[*pos + 1])} << 16) |
               (size_t{static_cast<unsigned char>(stream[*pos + 2])} << 8) |
               static_cast<unsigned char>(stream[*pos + 3]);
    *pos += 4;
    return v;
  };
  for (size_t pos = 0; pos < stream.size();) {
    size_t n = length(&pos), v = length(&pos);
    out.emplace(stream.substr(pos, n), stream.substr(pos + n, v));
    pos += n + v;
  }
  return out;
}

Params build(const std::string& raw, int64_t contentLength = -1,
             const std::vector<FastCgiParam>* params = nullptr) {
  test::Exchange ex(raw, test::remotePeer(), 0);
  std::vector<char> buf(64 * 1024), scratch(16 * 1024 + 256);
  FastCgiEncoder enc(buf.data(), buf.size(), 1);
  FastCgiParamsInput in;
  in.documentRoot = "/srv/www";
  in.scriptName = "/app/index.php";
  in.serverName = "example.test";
  in.serverAddr = "127.0.0.1";
  in.serverPort = 8080;
  in.serverSoftware = "HttpServer/1.0";
  in.contentLength = contentLength;
  in.params = params;
  EXPECT_EQ(writeFastCgiParams(ex.ctx(), in, &enc, scratch.data(), scratch.size()),
            ParamsStatus::kOk);
  enc.seal();
  return decodeParams({enc.data(), enc.size()});
}

std::string one(const Params& p, const std::string& name) {
  EXPECT_EQ(p.count(name), 1u) << name;
  auto it = p.find(name);
  return it == p.end() ? "<absent>" : it->second;
}

TEST(FastCgiParamsTest, TheStandardSet) {
  const Params p = build(
      "POST /app/index.php?a=1&b=%20 HTTP/1.1\r\nHost: example.test:8080\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n"
      "User-Agent: t/1\r\n\r\n",
      3);
  const std::map<std::string, std::string> want = {
      {"SCRIPT_FILENAME", "/srv/www/app/index.php"},
      {"QUERY_STRING", "a=1&b=%20"},
      {"REQUEST_METHOD", "POST"},
      {"CONTENT_TYPE", "application/x-www-form-urlencoded"},
      {"CONTENT_LENGTH", "3"},
      {"SCRIPT_NAME", "/app/index.php"},
      {"PATH_INFO", ""},
      {"REQUEST_URI", "/app/index.php?a=1&b=%20"},
      {"DOCUMENT_URI", "/app/index.php"},
      {"DOCUMENT_ROOT", "/srv/www"},
      {"SERVER_PROTOCOL", "HTTP/1.1"},
      {"GATEWAY_INTERFACE", "CGI/1.1"},
      {"SERVER_SOFTWARE", "HttpServer/1.0"},
      {"REMOTE_ADDR", "192.0.2.1"},
      {"REMOTE_PORT", "0"},
      {"SERVER_ADDR", "127.0.0.1"},
      {"SERVER_PORT", "8080"},
      {"SERVER_NAME", "example.test"},
      {"REDIRECT_STATUS", "200"},
      {"HTTP_HOST", "example.test:8080"},
      {"HTTP_USER_AGENT", "t/1"},
  };
  for (const auto& [name, value] : want) {
    SCOPED_TRACE(name);
    EXPECT_EQ(one(p, name), value);
  }
  // Content-Type and Content-Length travel as CONTENT_*, not again as HTTP_*.
  EXPECT_EQ(p.count("HTTP_CONTENT_TYPE"), 0u);
  EXPECT_EQ(p.count("HTTP_CONTENT_LENGTH"), 0u);
}

TEST(FastCgiParamsTest, HeadersAreFilteredAndJoined) {
  struct Case {
    const char* name;
    std::string headers;
    std::string param;
    const char* value;  // nullptr: not passed
  };
  const Case cases[] = {
      {"proxy never passed (httpoxy)", "Proxy: http://evil:1\r\n", "HTTP_PROXY", nullptr},
      {"underscore names dropped", "X_Forwarded_For: 6.6.6.6\r\n", "HTTP_X_FORWARDED_FOR", nullptr},
      {"dash becomes underscore", "X-Forwarded-For: 1.2.3.4\r\n", "HTTP_X_FORWARDED_FOR",
       "1.2.3.4"},
      {"repeated joined with comma", "Accept: a\r\nX: 1\r\naccept: b\r\n", "HTTP_ACCEPT", "a, b"},
      {"cookies joined with semicolon", "Cookie: a=1\r\nCookie: b=2\r\n", "HTTP_COOKIE",
       "a=1; b=2"},
      {"whitespace trimmed", "X-Pad:   v  \r\n", "HTTP_X_PAD", "v"},
      {"empty value", "X-Empty:\r\n", "HTTP_X_EMPTY", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Params p = build("GET / HTTP/1.0\r\nHost: h\r\n" + c.headers + "\r\n");
    if (c.value == nullptr) {
      EXPECT_EQ(p.count(c.param), 0u);
    } else {
      EXPECT_EQ(one(p, c.param), c.value);
    }
    EXPECT_EQ(one(p, "SERVER_PROTOCOL"), "HTTP/1.0");
    EXPECT_EQ(one(p, "CONTENT_LENGTH"), "");
  }
}

FastCgiParam param(const std::string& name, const std::string& value, bool ifNotEmpty = false) {
  FastCgiParam p;
  p.name = name;
  p.ifNotEmpty = ifNotEmpty;
  std::string err;
  EXPECT_TRUE(p.value.compile(value, LogEscape::kNone, &err)) << err;
  return p;
}

// fastcgi_param values with nginx's variables; each replaces the standard parameter (or HTTP_*
// header) of its name; HTTP_PROXY never goes out.
TEST(FastCgiParamsTest, ConfiguredParamsExpandVariablesAndOverride) {
  const std::vector<FastCgiParam> params = {
      param("SCRIPT_FILENAME", "/other$fastcgi_script_name"),
      param("APP_ENV", "prod"),
      param("VARS",
            "$document_root|$request_uri|$uri|$args|$is_args|$host|$remote_addr|"
            "$server_name|$content_type|$content_length|$request_method|$scheme|"
            "$server_protocol|$server_port|$http_user_agent|$fastcgi_path_info|"
            "$query_string|$document_uri"),
      param("EMPTY_KEPT", "$http_x_none"),
      param("EMPTY_DROPPED", "$http_x_none", true),
      param("HTTP_HOST", "rewritten"),
      param("HTTP_PROXY", "http://evil:1"),
  };
  const Params p = build(
      "POST /app/index.php?a=1 HTTP/1.1\r\nHost: example.test:8080\r\nContent-Type: text/x\r\n"
      "Content-Length: 3\r\nUser-Agent: t/1\r\nProxy: http://evil:2\r\n\r\n",
      3, &params);
  EXPECT_EQ(one(p, "SCRIPT_FILENAME"), "/other/app/index.php");
  EXPECT_EQ(one(p, "APP_ENV"), "prod");
  EXPECT_EQ(one(p, "VARS"),
            "/srv/www|/app/index.php?a=1|/app/index.php|a=1|?|example.test|192.0.2.1|example.test|"
            "text/x|3|POST|http|HTTP/1.1|8080|t/1||a=1|/app/index.php");
  EXPECT_EQ(one(p, "EMPTY_KEPT"), "");
  EXPECT_EQ(p.count("EMPTY_DROPPED"), 0u);
  EXPECT_EQ(one(p, "HTTP_HOST"), "rewritten");
  EXPECT_EQ(p.count("HTTP_PROXY"), 0u);
  EXPECT_EQ(one(p, "SCRIPT_NAME"), "/app/index.php");  // the others stay
}

TEST(FastCgiParamsTest, NoRoomIsReported) {
  test::Exchange ex("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(3000, 'v') + "\r\n\r\n",
                    test::remotePeer(), 0);
  std::vector<char> buf(1024), scratch(16 * 1024 + 256);
  FastCgiEncoder enc(buf.data(), buf.size(), 1);
  FastCgiParamsInput in;
  EXPECT_EQ(writeFastCgiParams(ex.ctx(), in, &enc, scratch.data(), scratch.size()),
            ParamsStatus::kNoRoom);
}

}  // namespace
}  // namespace hs
