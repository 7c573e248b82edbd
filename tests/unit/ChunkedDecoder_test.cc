// ChunkedDecoder: each body is fed whole, in two pieces split at every offset and one byte at a
// time; status, bytes used, body size and error must agree. Every piece sits at the end of a guard
// page so reading past the bytes handed in crashes the test.
#include "ChunkedDecoder.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "GuardedBuffer.h"
#include "SplitFeed.h"

namespace hs {
namespace {

using Status = ChunkedDecoder::Status;

struct Result {
  Status status = Status::kNeedMore;
  size_t used = 0;  // total over all feed() calls
  uint64_t body = 0;
  int error = 0;
  bool operator==(const Result&) const = default;
};

void PrintTo(const Result& r, std::ostream* os) {
  *os << "{status=" << static_cast<int>(r.status) << " used=" << r.used << " body=" << r.body
      << " error=" << r.error << "}";
}

// Feeds the input cut at the given (increasing) offsets, each piece once, until the decoder stops
// asking for more.
Result feedPieces(std::string_view input, const std::vector<size_t>& cuts, uint64_t maxBody) {
  GuardedBuffer guard(input.size());
  ChunkedDecoder decoder(maxBody);
  Result r;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < start) continue;
    const std::string_view piece = input.substr(start, end - start);
    size_t used = 12345;
    r.status = decoder.feed(guard.place(piece), piece.size(), &used);
    EXPECT_LE(used, piece.size());
    if (r.status == Status::kNeedMore) {
      EXPECT_EQ(used, piece.size());
    }
    r.used += used;
    start = end;
    if (r.status != Status::kNeedMore) break;
  }
  r.body = decoder.bodyBytes();
  r.error = decoder.errorStatus();
  return r;
}

Result feedWhole(std::string_view input, uint64_t maxBody) {
  return feedPieces(input, {}, maxBody);
}

void expectSplitInvariant(std::string_view input, const Result& whole, uint64_t maxBody) {
  hs::expectSplitInvariant(input, whole, [&](std::string_view in, const std::vector<size_t>& cuts) {
    return feedPieces(in, cuts, maxBody);
  });
}

constexpr uint64_t kNoLimit = std::numeric_limits<uint64_t>::max();

struct ValidBody {
  const char* name;
  std::string input;
  uint64_t body;
  size_t used = 0;  // 0: the whole input
};

std::vector<ValidBody> validBodies() {
  const std::string ext4096 = "1;" + std::string(4094, 'e') + "\r\nx\r\n0\r\n\r\n";
  return {
      {"empty body", "0\r\n\r\n", 0},
      {"one chunk", "5\r\nhello\r\n0\r\n\r\n", 5},
      {"several chunks", "3\r\nabc\r\n1\r\nd\r\n4\r\nefgh\r\n0\r\n\r\n", 8},
      {"hex sizes in both cases", "a\r\n0123456789\r\nB\r\n0123456789A\r\n0\r\n\r\n", 21},
      {"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", 5},
      {"data containing CRLF and digits", "6\r\n0\r\n\r\nX\r\n0\r\n\r\n", 6},
      {"extensions", "5;name=value;flag\r\nhello\r\n0;last=\"q;\\\"\"\r\n\r\n", 5},
      {"whitespace before extension", "5 \t;x=y\r\nhello\r\n0\r\n\r\n", 5},
      {"extension line at the length limit", ext4096, 1},
      {"trailers", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\nExpires:\r\nX-Obs: \xC3\xA9\r\n\r\n", 5},
      {"extension name without a value", "5;flag\r\nhello\r\n0;last\r\n\r\n", 5},
      {"BWS around ';' and '='", "5 ; a = b ;c\t=\t\"d\";e\r\nhello\r\n0\r\n\r\n", 5},
      {"quoted-string value with quoted-pairs and obs-text",
       "5;a=\"x\\\"y\\\\ \t\xC3\xA9;,=\"\r\nhello\r\n0\r\n\r\n", 5},
      {"empty quoted-string value", "5;a=\"\"\r\nhello\r\n0\r\n\r\n", 5},
      {"token value of tchar symbols", "5;a=!#$%&'*+-.^_`|~0\r\nhello\r\n0\r\n\r\n", 5},
      {"bytes of the next request are left", "2\r\nab\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 2, 12},
      {"large chunk", "400\r\n" + std::string(1024, 'z') + "\r\n0\r\n\r\n", 1024},
  };
}

TEST(ChunkedDecoderTest, ValidBodiesWholeSplitAndByteByByte) {
  for (const ValidBody& c : validBodies()) {
    SCOPED_TRACE(c.name);
    const Result whole = feedWhole(c.input, kNoLimit);
    EXPECT_EQ(whole.status, Status::kDone);
    EXPECT_EQ(whole.error, 0);
    EXPECT_EQ(whole.body, c.body);
    EXPECT_EQ(whole.used, c.used != 0 ? c.used : c.input.size());
    if (c.input.size() < 2000) expectSplitInvariant(c.input, whole, kNoLimit);
  }
}

// next() hands out the chunk data: the runs joined are the body, for every split, byte by byte.
std::string dataOf(std::string_view input, const std::vector<size_t>& cuts) {
  ChunkedDecoder decoder(kNoLimit);
  std::string data;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < start) continue;
    size_t pos = start;
    Status st = Status::kNeedMore;
    while (pos < end && st == Status::kNeedMore) {
      size_t used = 0;
      std::string_view chunk;
      st = decoder.next(input.data() + pos, end - pos, &used, &chunk);
      EXPECT_LE(used, end - pos);
      if (!chunk.empty()) {
        EXPECT_GE(chunk.data(), input.data() + pos);
        EXPECT_LE(chunk.data() + chunk.size(), input.data() + pos + used);
      }
      data.append(chunk);
      pos += used;
    }
    if (st != Status::kNeedMore) return data + (st == Status::kDone ? "|done" : "|error");
    start = end;
  }
  return data;
}

TEST(ChunkedDecoderTest, NextHandsOutTheChunkData) {
  for (const ValidBody& c : validBodies()) {
    SCOPED_TRACE(c.name);
    const std::string whole = dataOf(c.input, {});
    ASSERT_TRUE(whole.ends_with("|done"));
    EXPECT_EQ(whole.size(), c.body + 5);
    if (c.input.size() < 2000) hs::expectSplitInvariant(c.input, whole, dataOf);
  }
  EXPECT_EQ(dataOf("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", {}), "abcde|done");
}

TEST(ChunkedDecoderTest, ProperPrefixesNeedMore) {
  for (const ValidBody& c : validBodies()) {
    SCOPED_TRACE(c.name);
    const size_t end = c.used != 0 ? c.used : c.input.size();
    for (size_t k = 0; k < end; k += 1 + k / 64) {
      const Result r = feedWhole(std::string_view(c.input).substr(0, k), kNoLimit);
      EXPECT_EQ(r.status, Status::kNeedMore) << "prefix " << k;
      EXPECT_EQ(r.used, k);
    }
  }
}

struct BadBody {
  const char* name;
  std::string input;
  int status;
  uint64_t maxBody = kNoLimit;
};

std::vector<BadBody> badBodies() {
  return {
      {"no size", "\r\n", 400},
      {"non-hex size", "x\r\n", 400},
      {"negative size", "-5\r\n", 400},
      {"0x prefix", "0x5\r\nhello\r\n", 400},
      {"whitespace before size", " 5\r\nhello\r\n", 400},
      {"whitespace after size without extension", "5 \r\nhello\r\n0\r\n\r\n", 400},
      {"CR without LF after size", "5\rhello", 400},
      {"control byte in extension",
       "5;a\x01"
       "b\r\nhello\r\n",
       400},
      // Chunk extensions must follow RFC 9112 7.1.1.
      {"extension without a name", "5;\r\nhello\r\n0\r\n\r\n", 400},
      {"extension value without a name", "5;=v\r\nhello\r\n0\r\n\r\n", 400},
      {"two semicolons", "5;;a\r\nhello\r\n0\r\n\r\n", 400},
      {"extension with '=' and no value", "5;a=\r\nhello\r\n0\r\n\r\n", 400},
      {"non-token byte in extension name", "5;a@b\r\nhello\r\n0\r\n\r\n", 400},
      {"comma between extensions", "5;a,b\r\nhello\r\n0\r\n\r\n", 400},
      {"two names without ';'", "5;a b\r\nhello\r\n0\r\n\r\n", 400},
      {"two token values", "5;a=b c\r\nhello\r\n0\r\n\r\n", 400},
      {"'=' inside a token value", "5;a=b=c\r\nhello\r\n0\r\n\r\n", 400},
      {"non-token byte in a token value", "5;a=b/c\r\nhello\r\n0\r\n\r\n", 400},
      {"bytes after a quoted-string", "5;a=\"x\"y\r\nhello\r\n0\r\n\r\n", 400},
      {"unterminated quoted-string", "5;a=\"x\r\nhello\r\n0\r\n\r\n", 400},
      {"control byte in quoted-string", "5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n", 400},
      {"control byte in quoted-pair", "5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", 400},
      {"whitespace after an extension name", "5;a \r\nhello\r\n0\r\n\r\n", 400},
      {"whitespace after an extension value", "5;a=b\t\r\nhello\r\n0\r\n\r\n", 400},
      {"whitespace after a quoted value", "5;a=\"b\" \r\nhello\r\n0\r\n\r\n", 400},
      // Every line ends in CRLF.
      {"bare LF after the size", "5\nhello\r\n0\r\n\r\n", 400},
      {"bare LF after an extension", "5;a=b\nhello\r\n0\r\n\r\n", 400},
      {"bare LF after the data", "5\r\nhello\n0\r\n\r\n", 400},
      {"bare LF after the last chunk", "0\n\r\n", 400},
      {"bare LF after a trailer field", "0\r\nX-T: a\n\r\n", 400},
      {"bare LF as the final line", "0\r\n\n", 400},
      {"extension line over the limit", "1;" + std::string(4095, 'e') + "\r\nx\r\n", 400},
      {"17 hex digits", "00000000000000001\r\n", 400},
      {"huge hex", "FFFFFFFFFFFFFFFFFFFFFFFF\r\n", 400},
      {"data longer than its size", "5\r\nhelloX\r\n0\r\n\r\n", 400},
      {"CR after data not followed by LF", "5\r\nhello\rX", 400},
      {"data shorter than its size", "5\r\nhel\r\n0\r\n\r\n", 400},
      {"trailer without colon", "0\r\nX-T\r\n\r\n", 400},
      {"space in trailer name", "0\r\nX T: a\r\n\r\n", 400},
      {"trailer starting with whitespace", "0\r\n X: a\r\n\r\n", 400},
      {"control byte in trailer value", "0\r\nX: a\x01\r\n\r\n", 400},
      {"CR in trailer not followed by LF", "0\r\nX: a\rb\r\n\r\n", 400},
      {"final CR not followed by LF", "0\r\n\rX", 400},
      {"trailer section over the limit", "0\r\nX: " + std::string(9000, 'v') + "\r\n\r\n", 400},
      {"body over the limit in one chunk", "b\r\nhello world\r\n0\r\n\r\n", 413, 10},
      {"body over the limit over chunks", "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 413, 10},
      {"16 hex digits over the limit", "FFFFFFFFFFFFFFFF\r\n", 413, 1u << 20},
      {"any data with a zero limit", "1\r\nx\r\n0\r\n\r\n", 413, 0},
  };
}

TEST(ChunkedDecoderTest, MalformedBodiesFailWithTheirStatus) {
  for (const BadBody& c : badBodies()) {
    SCOPED_TRACE(c.name);
    const Result whole = feedWhole(c.input, c.maxBody);
    EXPECT_EQ(whole.status, Status::kError);
    EXPECT_EQ(whole.error, c.status);
    EXPECT_LE(whole.used, c.input.size());
    if (c.input.size() < 2000) expectSplitInvariant(c.input, whole, c.maxBody);
  }
}

TEST(ChunkedDecoderTest, BodyLimitIsInclusive) {
  const std::string ten = "5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n";
  const Result ok = feedWhole(ten, 10);
  EXPECT_EQ(ok.status, Status::kDone);
  EXPECT_EQ(ok.body, 10u);
  expectSplitInvariant(ten, ok, 10);
  const Result bad = feedWhole(ten, 9);
  EXPECT_EQ(bad.status, Status::kError);
  EXPECT_EQ(bad.error, 413);
  expectSplitInvariant(ten, bad, 9);
}

TEST(ChunkedDecoderTest, OversizedChunkIsRefusedBeforeItsData) {
  // The size line alone is enough to refuse: no data has to be read first.
  const std::string head = "100000\r\n";
  const Result r = feedWhole(head, 1000);
  EXPECT_EQ(r.status, Status::kError);
  EXPECT_EQ(r.error, 413);
  EXPECT_EQ(r.body, 0u);
  EXPECT_EQ(r.used, head.size() - 1);  // stopped at the CR that ended the size
}

TEST(ChunkedDecoderTest, SixteenHexDigitsFitWithoutLimit) {
  const Result r = feedWhole("FFFFFFFFFFFFFFFF\r\nabc", kNoLimit);
  EXPECT_EQ(r.status, Status::kNeedMore);
  EXPECT_EQ(r.body, 3u);
}

TEST(ChunkedDecoderTest, BodyBytesGrowWhileDataArrives) {
  ChunkedDecoder decoder(kNoLimit);
  size_t used = 0;
  EXPECT_EQ(decoder.feed("a\r\n0123", 7, &used), Status::kNeedMore);
  EXPECT_EQ(used, 7u);
  EXPECT_EQ(decoder.bodyBytes(), 4u);
  EXPECT_EQ(decoder.feed("456789\r\n0\r\n\r\nNEXT", 17, &used), Status::kDone);
  EXPECT_EQ(used, 13u);
  EXPECT_EQ(decoder.bodyBytes(), 10u);
}

TEST(ChunkedDecoderTest, DoneAndErrorAreStickyUntilReset) {
  ChunkedDecoder decoder(100);
  size_t used = 99;
  ASSERT_EQ(decoder.feed("0\r\n\r\n", 5, &used), Status::kDone);
  EXPECT_EQ(decoder.feed("5\r\n", 3, &used), Status::kDone);
  EXPECT_EQ(used, 0u);

  decoder.reset();
  EXPECT_EQ(decoder.bodyBytes(), 0u);
  ASSERT_EQ(decoder.feed("z", 1, &used), Status::kError);
  EXPECT_EQ(decoder.errorStatus(), 400);
  EXPECT_EQ(decoder.feed("0\r\n\r\n", 5, &used), Status::kError);
  EXPECT_EQ(used, 0u);

  decoder.reset();
  EXPECT_EQ(decoder.errorStatus(), 0);
  EXPECT_EQ(decoder.feed("3\r\nabc\r\n0\r\n\r\n", 13, &used), Status::kDone);
  EXPECT_EQ(decoder.bodyBytes(), 3u);
  // The limit survives reset.
  decoder.reset();
  EXPECT_EQ(decoder.feed("65\r\n", 4, &used), Status::kError);
  EXPECT_EQ(decoder.errorStatus(), 413);
}

TEST(ChunkedDecoderTest, EmptyFeedNeedsMore) {
  ChunkedDecoder decoder(10);
  size_t used = 7;
  EXPECT_EQ(decoder.feed(nullptr, 0, &used), Status::kNeedMore);
  EXPECT_EQ(used, 0u);
}

}  // namespace
}  // namespace hs
