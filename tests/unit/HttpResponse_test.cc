#include "HttpResponse.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace hs {
namespace {

TEST(FixedWriterTest, AddNumFormatsBoundaryValues) {
  struct Case {
    uint64_t v;
    const char* text;
  } cases[] = {
      {0, "0"},
      {1, "1"},
      {9, "9"},
      {10, "10"},
      {1234567890, "1234567890"},
      {UINT64_MAX, "18446744073709551615"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    char buf[32];
    FixedWriter w(buf, sizeof buf);
    w.addNum(c.v);
    EXPECT_FALSE(w.overflowed());
    EXPECT_EQ(w.view(), c.text);
  }
}

TEST(FixedWriterTest, AddNumThatDoesNotFitOverflowsAndWritesNothing) {
  char buf[20];
  FixedWriter w(buf, 19);
  w.addNum(UINT64_MAX);  // 20 digits into 19 bytes
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.size(), 0u);

  FixedWriter exact(buf, 20);
  exact.addNum(UINT64_MAX);
  EXPECT_FALSE(exact.overflowed());
  EXPECT_EQ(exact.size(), 20u);
}

TEST(FixedWriterTest, AddExactFitThenOverflowIsSticky) {
  char buf[8];
  FixedWriter w(buf, sizeof buf);
  w.add("12345678");
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.view(), "12345678");
  w.add("9");
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.size(), 8u);  // nothing partial was written
  w.add("");
  EXPECT_TRUE(w.overflowed());  // stays set
}

TEST(FixedWriterTest, ZeroCapacityOverflowsOnFirstByte) {
  char buf[1];
  FixedWriter w(buf, 0);
  w.add("");
  EXPECT_FALSE(w.overflowed());
  w.add("x");
  EXPECT_TRUE(w.overflowed());
  EXPECT_EQ(w.size(), 0u);
}

TEST(FixedWriterTest, HeaderLines) {
  char buf[128];
  FixedWriter w(buf, sizeof buf);
  w.header("Content-Type", "text/html").header("Content-Length", uint64_t{1024});
  EXPECT_FALSE(w.overflowed());
  EXPECT_EQ(w.view(), "Content-Type: text/html\r\nContent-Length: 1024\r\n");
}

TEST(FixedWriterTest, StatusLines) {
  struct Case {
    int status;
    const char* line;
  } cases[] = {
      {200, "HTTP/1.1 200 OK\r\n"},
      {206, "HTTP/1.1 206 Partial Content\r\n"},
      {301, "HTTP/1.1 301 Moved Permanently\r\n"},
      {304, "HTTP/1.1 304 Not Modified\r\n"},
      {404, "HTTP/1.1 404 Not Found\r\n"},
      {416, "HTTP/1.1 416 Range Not Satisfiable\r\n"},
      {505, "HTTP/1.1 505 HTTP Version Not Supported\r\n"},
      {299, "HTTP/1.1 299 Unknown\r\n"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    char buf[64];
    FixedWriter w(buf, sizeof buf);
    writeStatusLine(w, c.status);
    EXPECT_FALSE(w.overflowed());
    EXPECT_EQ(w.view(), c.line);
  }
}

TEST(FixedWriterTest, StatusLineOverflowIsReported) {
  char buf[10];
  FixedWriter w(buf, sizeof buf);
  writeStatusLine(w, 416);
  EXPECT_TRUE(w.overflowed());
}

TEST(ReasonPhraseTest, KnownAndUnknownCodes) {
  struct Case {
    int status;
    const char* reason;
  } cases[] = {
      {200, "OK"},
      {206, "Partial Content"},
      {301, "Moved Permanently"},
      {304, "Not Modified"},
      {400, "Bad Request"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {416, "Range Not Satisfiable"},
      {500, "Internal Server Error"},
      {505, "HTTP Version Not Supported"},
      {0, ""},
      {299, ""},
      {999, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    EXPECT_EQ(reasonPhrase(c.status), c.reason);
  }
}

TEST(ErrorBodyTest, NamesTheStatus) {
  for (int status :
       {301, 400, 403, 404, 405, 408, 411, 412, 413, 414, 416, 417, 431, 500, 501, 503, 505}) {
    SCOPED_TRACE(status);
    std::string body(errorBody(status));
    std::string code = std::to_string(status);
    EXPECT_NE(body.find("<title>" + code + " " + std::string(reasonPhrase(status)) + "</title>"),
              std::string::npos)
        << body;
    EXPECT_NE(body.find("<p class=\"code\">" + code + "</p><h1>" +
                        std::string(reasonPhrase(status)) + "</h1>"),
              std::string::npos)
        << body;
    EXPECT_EQ(body.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_TRUE(body.ends_with("</html>\n"));
  }
}

// Styled like the bundled site (www/style.css: its accent colour and header gradient), and
// still small: the page fits in one packet with its head.
TEST(ErrorBodyTest, StyledLikeTheBundledSiteAndSmall) {
  for (int status : {400, 404, 500, 299}) {
    SCOPED_TRACE(status);
    std::string body(errorBody(status));
    EXPECT_NE(body.find("<style>"), std::string::npos);
    EXPECT_NE(body.find("linear-gradient(90deg,#1e40af,#3268a0)"), std::string::npos);
    EXPECT_NE(body.find("<header>HttpServer</header>"), std::string::npos);
    EXPECT_LE(body.size(), 1200u);
  }
}

TEST(ErrorBodyTest, UnknownStatusGetsGenericPage) {
  std::string body(errorBody(299));
  EXPECT_NE(body.find("<h1>Error</h1>"), std::string::npos);
  EXPECT_FALSE(body.empty());
}

}  // namespace
}  // namespace hs
