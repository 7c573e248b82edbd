// HttpResponseHead: each upstream response is fed whole, in two pieces split at every offset and
// one byte at a time (each piece placed before a guard page); status, framing, length, keep-alive,
// fields with their hop-by-hop marks, where the body starts and the error must agree.
#include "HttpResponseHead.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "GuardedBuffer.h"
#include "SplitFeed.h"

namespace hs {
namespace {

using Status = HttpResponseHead::Status;
using Error = HttpResponseHead::Error;
using Framing = HttpResponseHead::Framing;

struct Result {
  Status status = Status::kNeedMore;
  Error error = Error::kNone;
  size_t used = 0;  // bytes of head(s), interim ones included (only compared when done)
  int code = 0;
  Framing framing = Framing::kNone;
  uint64_t length = 0;
  bool keepAlive = false;
  int interim = 0;
  std::string fields;  // "name=value|" for each field, "-name=value|" when hop-by-hop
  bool operator==(const Result&) const = default;
};

void PrintTo(const Result& r, std::ostream* os) {
  *os << "{status=" << static_cast<int>(r.status) << " error=" << static_cast<int>(r.error)
      << " used=" << r.used << " code=" << r.code << " framing=" << static_cast<int>(r.framing)
      << " length=" << r.length << " keepAlive=" << r.keepAlive << " interim=" << r.interim
      << " fields=" << r.fields << "}";
}

struct Options {
  bool head = false;
  bool upgrade = false;
};

Result parsePieces(std::string_view input, const std::vector<size_t>& cuts, Options o) {
  GuardedBuffer guard(input.size());
  static HttpResponseHead head;
  head.reset(o.head, o.upgrade);
  Result r;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  size_t start = 0;
  for (size_t end : ends) {
    const std::string_view piece = input.substr(start, end - start);
    size_t used = 12345;
    r.status = head.feed(guard.place(piece), piece.size(), &used);
    EXPECT_LE(used, piece.size());
    if (r.status == Status::kNeedMore) {
      EXPECT_EQ(used, piece.size());
    }
    r.used += used;
    start = end;
    if (r.status != Status::kNeedMore) break;
  }
  if (r.status == Status::kNeedMore) r.status = head.finish();
  r.error = head.error();
  if (r.status != Status::kDone) {
    r.used = 0;
    return r;
  }
  r.code = head.status();
  r.framing = head.framing();
  r.length = head.contentLength();
  r.keepAlive = head.keepAlive();
  r.interim = head.interim();
  for (size_t i = 0; i < head.fieldCount(); ++i) {
    const auto& f = head.field(i);
    r.fields += (f.hopByHop ? "-" : "") + std::string(f.name) + "=" + std::string(f.value) + "|";
  }
  return r;
}

void expectSplitInvariant(std::string_view input, const Result& whole, Options o) {
  hs::expectSplitInvariant(input, whole, [&](std::string_view in, const std::vector<size_t>& cuts) {
    return parsePieces(in, cuts, o);
  });
}

struct Case {
  const char* name;
  std::string input;
  Result want;
  Options opts = {};
};

Result done(int code, Framing f, uint64_t len, bool keep, std::string fields, size_t used,
            int interim = 0) {
  Result r;
  r.status = Status::kDone;
  r.code = code;
  r.framing = f;
  r.length = len;
  r.keepAlive = keep;
  r.fields = std::move(fields);
  r.used = used;
  r.interim = interim;
  return r;
}

Result failed(Error e) {
  Result r;
  r.status = Status::kError;
  r.error = e;
  return r;
}

constexpr size_t kWhole = SIZE_MAX;  // the head is the whole input

const std::string kOk = "HTTP/1.1 200 OK\r\n";

TEST(HttpResponseHeadTest, ValidHeads) {
  const std::string interim =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n";
  const std::string cl = kOk + "Content-Length: 5\r\n\r\n";
  const std::vector<Case> cases = {
      {"length", cl + "hello",
       done(200, Framing::kLength, 5, true, "Content-Length=5|", cl.size())},
      {"chunked", kOk + "Transfer-Encoding: chunked\r\n\r\n",
       done(200, Framing::kChunked, 0, true, "-Transfer-Encoding=chunked|", kWhole)},
      {"chunked any case", kOk + "transfer-encoding: Chunked\r\n\r\n",
       done(200, Framing::kChunked, 0, true, "-transfer-encoding=Chunked|", kWhole)},
      {"close-delimited", kOk + "\r\n", done(200, Framing::kClose, 0, false, "", kWhole)},
      {"bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 0\n\n",
       done(200, Framing::kLength, 0, true, "Content-Length=0|", kWhole)},
      {"no reason", "HTTP/1.1 204\r\n\r\n", done(204, Framing::kNone, 0, true, "", kWhole)},
      {"empty reason", "HTTP/1.1 404 \r\nContent-Length: 3\r\n\r\n",
       done(404, Framing::kLength, 3, true, "Content-Length=3|", kWhole)},
      {"equal lengths", kOk + "Content-Length: 7\r\nContent-Length: 7, 7\r\n\r\n",
       done(200, Framing::kLength, 7, true, "Content-Length=7|Content-Length=7, 7|", kWhole)},
      {"HEAD ignores length",
       cl,
       done(200, Framing::kNone, 5, true, "Content-Length=5|", cl.size()),
       {true, false}},
      {"304 bodiless", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
       done(304, Framing::kNone, 10, true, "Content-Length=10|", kWhole)},
      {"1.1 close", kOk + "Connection: close\r\nContent-Length: 0\r\n\r\n",
       done(200, Framing::kLength, 0, false, "-Connection=close|Content-Length=0|", kWhole)},
      {"1.0 default close", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
       done(200, Framing::kLength, 2, false, "Content-Length=2|", kWhole)},
      {"1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n",
       done(200, Framing::kLength, 2, true, "-Connection=keep-alive|Content-Length=2|", kWhole)},
      {"hop-by-hop marked",
       kOk + "Keep-Alive: timeout=5\r\nX-A: 1\r\nConnection: x-a, X-B\r\nx-b: 2\r\nSet-Cookie: "
             "a=1\r\nSet-Cookie: b=2\r\nUpgrade: h2c\r\nProxy-Connection: x\r\nTE: "
             "trailers\r\nTrailer: X\r\nContent-Length: 0\r\n\r\n",
       done(
           200, Framing::kLength, 0, true,
           "-Keep-Alive=timeout=5|-X-A=1|-Connection=x-a, X-B|-x-b=2|Set-Cookie=a=1|Set-Cookie=b=2|"
           "-Upgrade=h2c|-Proxy-Connection=x|-TE=trailers|-Trailer=X|Content-Length=0|",
           kWhole)},
      {"values trimmed, empty value", kOk + "X-E:\r\nX-F: \t a b \t\r\nContent-Length: 0\r\n\r\n",
       done(200, Framing::kLength, 0, true, "X-E=|X-F=a b|Content-Length=0|", kWhole)},
      {"interim heads consumed", interim + cl,
       done(200, Framing::kLength, 5, true, "Content-Length=5|", interim.size() + cl.size(), 2)},
      {"101 asked",
       "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
       done(101, Framing::kNone, 0, false, "-Upgrade=websocket|-Connection=Upgrade|", kWhole),
       {false, true}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Result want = c.want;
    if (want.used == kWhole) want.used = c.input.size();
    EXPECT_EQ(parsePieces(c.input, {}, c.opts), want);
    expectSplitInvariant(c.input, want, c.opts);
  }
}

TEST(HttpResponseHeadTest, MalformedHeads) {
  const std::vector<Case> cases = {
      {"HTTP/0.9 bytes", "<html>hello</html>", failed(Error::kBadStatusLine)},
      {"0.9 with newline", "hello\r\n\r\n", failed(Error::kBadStatusLine)},
      {"lower-case http", "http/1.1 200 OK\r\n\r\n", failed(Error::kBadStatusLine)},
      {"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", failed(Error::kBadVersion)},
      {"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n", failed(Error::kBadVersion)},
      {"two-digit code", "HTTP/1.1 20 OK\r\n\r\n", failed(Error::kBadStatusLine)},
      {"code 600", "HTTP/1.1 600 X\r\n\r\n", failed(Error::kBadStatusLine)},
      {"code 099", "HTTP/1.1 099 X\r\n\r\n", failed(Error::kBadStatusLine)},
      {"no space after code", "HTTP/1.1 200OK\r\n\r\n", failed(Error::kBadStatusLine)},
      {"control in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", failed(Error::kBadStatusLine)},
      {"bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n", failed(Error::kBadStatusLine)},
      {"space before colon", kOk + "Content-Length : 5\r\n\r\n", failed(Error::kBadField)},
      {"obs-fold", kOk + "X-A: 1\r\n  2\r\n\r\n", failed(Error::kBadField)},
      {"no colon", kOk + "Nonsense\r\n\r\n", failed(Error::kBadField)},
      {"empty name", kOk + ": x\r\n\r\n", failed(Error::kBadField)},
      {"NUL in value", kOk + std::string("X-A: a\0b\r\n\r\n", 12), failed(Error::kBadField)},
      {"bare CR in value", kOk + "X-A: a\rb\r\n\r\n", failed(Error::kBadField)},
      {"CL and TE", kOk + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       failed(Error::kLengthAndEncoding)},
      {"TE and CL", kOk + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
       failed(Error::kLengthAndEncoding)},
      {"CL and TE on HEAD",
       kOk + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       failed(Error::kLengthAndEncoding),
       {true, false}},
      {"two lengths", kOk + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n",
       failed(Error::kConflictingLength)},
      {"length list differs", kOk + "Content-Length: 5, 6\r\n\r\n",
       failed(Error::kConflictingLength)},
      {"negative length", kOk + "Content-Length: -1\r\n\r\n", failed(Error::kBadLength)},
      {"signed length", kOk + "Content-Length: +5\r\n\r\n", failed(Error::kBadLength)},
      {"hex length", kOk + "Content-Length: 0x5\r\n\r\n", failed(Error::kBadLength)},
      {"empty length", kOk + "Content-Length:\r\n\r\n", failed(Error::kBadLength)},
      {"huge length", kOk + "Content-Length: 99999999999999999999\r\n\r\n",
       failed(Error::kBadLength)},
      {"gzip, chunked", kOk + "Transfer-Encoding: gzip, chunked\r\n\r\n",
       failed(Error::kBadEncoding)},
      {"chunked, gzip", kOk + "Transfer-Encoding: chunked, gzip\r\n\r\n",
       failed(Error::kBadEncoding)},
      {"chunked twice", kOk + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
       failed(Error::kBadEncoding)},
      {"identity", kOk + "Transfer-Encoding: identity\r\n\r\n", failed(Error::kBadEncoding)},
      {"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
       failed(Error::kBadEncoding)},
      {"101 unasked", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
       failed(Error::kUnaskedSwitch)},
      {"truncated head", kOk + "Content-Length: 5\r\n", failed(Error::kTruncated)},
      {"empty stream", "", failed(Error::kTruncated)},
      {"interim then truncated", "HTTP/1.1 100 Continue\r\n\r\n", failed(Error::kTruncated)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(parsePieces(c.input, {}, c.opts), c.want);
    expectSplitInvariant(c.input, c.want, c.opts);
  }
}

TEST(HttpResponseHeadTest, Bounds) {
  const std::string big = kOk + "X-A: " + std::string(HttpResponseHead::kMaxHead, 'a') + "\r\n\r\n";
  EXPECT_EQ(parsePieces(big, {}, {}), failed(Error::kTooLarge));
  std::string many = kOk;
  for (size_t i = 0; i <= HttpResponseHead::kMaxFields; ++i) many += "X: 1\r\n";
  EXPECT_EQ(parsePieces(many + "\r\n", {}, {}), failed(Error::kTooManyFields));
  std::string interims;
  for (int i = 0; i <= HttpResponseHead::kMaxInterim; ++i)
    interims += "HTTP/1.1 100 Continue\r\n\r\n";
  EXPECT_EQ(parsePieces(interims + kOk + "\r\n", {}, {}), failed(Error::kTooManyInterim));
  // Exactly at the limit is accepted.
  std::string exact = kOk + "Content-Length: 0\r\nX-A: ";
  exact += std::string(HttpResponseHead::kMaxHead - exact.size() - 4, 'b') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), HttpResponseHead::kMaxHead);
  EXPECT_EQ(parsePieces(exact, {}, {}).status, Status::kDone);
}

TEST(HttpResponseHeadTest, BodyBytesAreNotConsumed) {
  HttpResponseHead head;
  head.reset(false, false);
  const std::string in = kOk + "Content-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n";
  size_t used = 0;
  ASSERT_EQ(head.feed(in.data(), in.size(), &used), Status::kDone);
  EXPECT_EQ(in.substr(used), "abcHTTP/1.1 200 OK\r\n");
  EXPECT_EQ(head.feed(in.data() + used, in.size() - used, &used), Status::kDone);
  EXPECT_EQ(used, 0u);
}

}  // namespace
}  // namespace hs
