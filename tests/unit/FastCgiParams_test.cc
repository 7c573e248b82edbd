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

Params build(const std::string& raw, int64_t contentLength = -1) {
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
