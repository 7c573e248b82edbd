// FastCgiCodec: the encoder's exact bytes and its all-or-nothing failures; the decoder fed each
// reply whole, in two pieces split at every offset and one byte at a time (every piece placed
// before a guard page), with streams, end status and error agreeing; and encoder -> decoder round
// trips.
#include "FastCgiCodec.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "GuardedBuffer.h"
#include "SplitFeed.h"

namespace hs {
namespace {

using Event = FastCgiDecoder::Event;
using Error = FastCgiDecoder::Error;
using fcgi::Type;

constexpr uint16_t kId = 1;

// One record as the wire carries it.
std::string record(uint8_t type, uint16_t id, std::string_view content, uint8_t padding,
                   uint8_t version = 1) {
  std::string r;
  r += static_cast<char>(version);
  r += static_cast<char>(type);
  r += static_cast<char>(id >> 8);
  r += static_cast<char>(id & 0xFF);
  r += static_cast<char>(content.size() >> 8);
  r += static_cast<char>(content.size() & 0xFF);
  r += static_cast<char>(padding);
  r += '\0';
  r += content;
  r += std::string(padding, '\0');
  return r;
}

std::string record(Type type, std::string_view content, uint8_t padding = 0) {
  return record(static_cast<uint8_t>(type), kId, content, padding);
}

std::string endRequest(uint32_t appStatus, uint8_t protocolStatus, uint8_t padding = 0) {
  std::string body = {static_cast<char>(appStatus >> 24),
                      static_cast<char>(appStatus >> 16),
                      static_cast<char>(appStatus >> 8),
                      static_cast<char>(appStatus),
                      0,
                      0,
                      0,
                      0};
  body[4] = static_cast<char>(protocolStatus);
  return record(Type::kEndRequest, body, padding);
}

struct Result {
  Event event = Event::kNeedMore;  // the last event (after finish() when no piece ended it)
  Error error = Error::kNone;
  std::string out;
  std::string err;
  size_t used = 0;
  uint32_t appStatus = 0;
  int protocolStatus = 0;
  bool operator==(const Result&) const = default;
};

void PrintTo(const Result& r, std::ostream* os) {
  *os << "{event=" << static_cast<int>(r.event) << " error=" << static_cast<int>(r.error)
      << " out=\"" << r.out << "\" err=\"" << r.err << "\" used=" << r.used
      << " app=" << r.appStatus << " proto=" << r.protocolStatus << "}";
}

// Feeds the pieces between the given (increasing) cuts, each once, until END_REQUEST or an error;
// then finish() if neither came.
Result decodePieces(std::string_view input, const std::vector<size_t>& cuts) {
  GuardedBuffer guard(input.size());
  FastCgiDecoder decoder(kId, 4096);
  Result r;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  size_t start = 0;
  for (size_t end : ends) {
    const std::string_view piece = input.substr(start, end - start);
    const char* at = guard.place(piece);
    size_t off = 0;
    do {
      size_t used = 12345;
      std::string_view payload;
      r.event = decoder.feed(at + off, piece.size() - off, &used, &payload);
      EXPECT_LE(used, piece.size() - off);
      if (r.event == Event::kStdout) r.out += payload;
      if (r.event == Event::kStderr) r.err += payload;
      if (r.event == Event::kStdout || r.event == Event::kStderr) {
        EXPECT_FALSE(payload.empty());
      }
      if (r.event == Event::kNeedMore) {
        EXPECT_EQ(used, piece.size() - off);
      }
      off += used;
      r.used += used;
    } while (off < piece.size() && r.event != Event::kEnd && r.event != Event::kError);
    start = end;
    if (r.event == Event::kEnd || r.event == Event::kError) break;
  }
  if (r.event != Event::kEnd && r.event != Event::kError) r.event = decoder.finish();
  r.error = decoder.error();
  r.appStatus = decoder.appStatus();
  r.protocolStatus = static_cast<int>(decoder.protocolStatus());
  return r;
}

void expectSplitInvariant(std::string_view input, const Result& whole) {
  hs::expectSplitInvariant(input, whole, [&](std::string_view in, const std::vector<size_t>& cuts) {
    return decodePieces(in, cuts);
  });
}

struct Reply {
  const char* name;
  std::string input;
  std::string out;
  std::string err;
  uint32_t appStatus;
  int protocolStatus = 0;
  size_t trailing = 0;  // bytes after END_REQUEST left unconsumed
};

std::vector<Reply> validReplies() {
  const std::string big(4096, 'b');
  return {
      {"stdout, empty stdout, end",
       record(Type::kStdout, "Content-Type: text/plain\r\n\r\nhi", 6) + record(Type::kStdout, "") +
           endRequest(0, 0),
       "Content-Type: text/plain\r\n\r\nhi", "", 0},
      {"stdout and stderr interleaved",
       record(Type::kStdout, "ab") + record(Type::kStderr, "warn\n", 3) +
           record(Type::kStdout, "cd", 255) + record(Type::kStderr, "") +
           record(Type::kStdout, "") + endRequest(0, 0),
       "abcd", "warn\n", 0},
      {"end without an empty stdout record", record(Type::kStdout, "x") + endRequest(0, 0), "x", "",
       0},
      {"nothing but end", endRequest(0, 0), "", "", 0},
      {"application status is big-endian", endRequest(0x01020304, 0), "", "", 0x01020304},
      {"padded end request", endRequest(7, 0, 8), "", "", 7},
      {"overloaded", endRequest(0, 2), "", "", 0, 2},
      {"unknown role", endRequest(0, 3), "", "", 0, 3},
      {"empty record with padding", record(Type::kStdout, "", 7) + endRequest(0, 0), "", "", 0},
      {"record at the content bound", record(Type::kStdout, big) + endRequest(0, 0), big, "", 0},
      {"bytes after the end are left", endRequest(0, 0) + "\x01\x06", "", "", 0, 0, 2},
  };
}

TEST(FastCgiDecoderTest, ValidRepliesWholeSplitAndByteByByte) {
  for (const Reply& c : validReplies()) {
    SCOPED_TRACE(c.name);
    const Result whole = decodePieces(c.input, {});
    EXPECT_EQ(whole.event, Event::kEnd);
    EXPECT_EQ(whole.error, Error::kNone);
    EXPECT_EQ(whole.out, c.out);
    EXPECT_EQ(whole.err, c.err);
    EXPECT_EQ(whole.appStatus, c.appStatus);
    EXPECT_EQ(whole.protocolStatus, c.protocolStatus);
    EXPECT_EQ(whole.used, c.input.size() - c.trailing);
    expectSplitInvariant(c.input, whole);
  }
}

struct BadReply {
  const char* name;
  std::string input;
  Error error;
};

std::vector<BadReply> badReplies() {
  const std::string end = endRequest(0, 0);
  return {
      {"version 0", record(6, kId, "x", 0, 0) + end, Error::kVersion},
      {"version 2", record(6, kId, "x", 0, 2) + end, Error::kVersion},
      {"another request id", record(6, 2, "x", 0) + end, Error::kRequestId},
      {"management record", record(11, 0, std::string(8, '\0'), 0) + end, Error::kRequestId},
      {"stdin from the application", record(Type::kStdin, "x") + end, Error::kType},
      {"params from the application", record(Type::kParams, "") + end, Error::kType},
      {"begin request from the application", record(Type::kBeginRequest, std::string(8, '\0')),
       Error::kType},
      {"unknown type", record(12, kId, "", 0) + end, Error::kType},
      {"type 0", record(0, kId, "", 0) + end, Error::kType},
      {"short end request", record(Type::kEndRequest, std::string(7, '\0'), 1), Error::kLength},
      {"long end request", record(Type::kEndRequest, std::string(9, '\0'), 7), Error::kLength},
      {"stdout after its end", record(Type::kStdout, "") + record(Type::kStdout, "x") + end,
       Error::kLength},
      {"second empty stderr", record(Type::kStderr, "") + record(Type::kStderr, "") + end,
       Error::kLength},
      {"record over the bound", record(Type::kStdout, std::string(4097, 'x')) + end,
       Error::kTooLarge},
      {"protocol status 4", endRequest(0, 4), Error::kProtocolStatus},
      {"empty input", "", Error::kTruncated},
      {"truncated header", record(Type::kStdout, "abc").substr(0, 5), Error::kTruncated},
      {"truncated content", record(Type::kStdout, "abc").substr(0, 10), Error::kTruncated},
      {"truncated padding", record(Type::kStdout, "abc", 5).substr(0, 12), Error::kTruncated},
      {"no end request", record(Type::kStdout, "abc") + record(Type::kStdout, ""),
       Error::kTruncated},
      {"truncated end request", end.substr(0, 12), Error::kTruncated},
      {"truncated end padding", endRequest(0, 0, 8).substr(0, 20), Error::kTruncated},
  };
}

TEST(FastCgiDecoderTest, MalformedRepliesRejectedPrecisely) {
  for (const BadReply& c : badReplies()) {
    SCOPED_TRACE(c.name);
    const Result whole = decodePieces(c.input, {});
    EXPECT_EQ(whole.event, Event::kError);
    EXPECT_EQ(whole.error, c.error);
    expectSplitInvariant(c.input, whole);
  }
}

TEST(FastCgiDecoderTest, NothingIsAcceptedAfterEndOrError) {
  const std::string end = endRequest(0, 0);
  FastCgiDecoder decoder(kId);
  size_t used = 0;
  std::string_view payload;
  EXPECT_EQ(decoder.feed(end.data(), end.size(), &used, &payload), Event::kEnd);
  EXPECT_EQ(decoder.feed(end.data(), 0, &used, &payload), Event::kEnd);
  EXPECT_EQ(decoder.finish(), Event::kEnd);
  EXPECT_EQ(decoder.feed(end.data(), 1, &used, &payload), Event::kError);
  EXPECT_EQ(decoder.error(), Error::kAfterEnd);
  EXPECT_EQ(decoder.feed(end.data(), end.size(), &used, &payload), Event::kError);
  EXPECT_EQ(used, 0u);
  decoder.reset(3);
  const std::string other = record(6, 3, "", 0) + endRequest(0, 0).replace(3, 1, "\x03");
  EXPECT_EQ(decoder.feed(other.data(), other.size(), &used, &payload), Event::kEnd);
  EXPECT_EQ(used, other.size());
}

// --- Encoder -------------------------------------------------------------------------------------

struct Encoded {
  std::vector<char> buf;
  FastCgiEncoder enc;
  explicit Encoded(size_t capacity, size_t maxContent = fcgi::kMaxContent, uint16_t id = kId)
      : buf(capacity), enc(buf.data(), capacity, id, maxContent) {}
  std::string bytes() const { return std::string(enc.data(), enc.size()); }
};

TEST(FastCgiEncoderTest, FixedRecords) {
  Encoded e(256, fcgi::kMaxContent, 0x1234);
  ASSERT_TRUE(e.enc.beginRequest(true));
  ASSERT_TRUE(e.enc.endParams());
  ASSERT_TRUE(e.enc.endStdin());
  ASSERT_TRUE(e.enc.abortRequest());
  const std::string expected = std::string("\x01\x01\x12\x34\x00\x08\x00\x00", 8) +
                               std::string("\x00\x01\x01\x00\x00\x00\x00\x00", 8) +
                               std::string("\x01\x04\x12\x34\x00\x00\x00\x00", 8) +
                               std::string("\x01\x05\x12\x34\x00\x00\x00\x00", 8) +
                               std::string("\x01\x02\x12\x34\x00\x00\x00\x00", 8);
  EXPECT_EQ(e.bytes(), expected);
  Encoded closing(16);
  ASSERT_TRUE(closing.enc.beginRequest(false));
  EXPECT_EQ(closing.bytes()[8 + 2], '\0');
}

struct ParamCase {
  const char* name;
  std::string paramName;
  std::string value;
  std::string content;  // the PARAMS stream's content
};

TEST(FastCgiEncoderTest, ParamLengthForms) {
  const std::string n127(127, 'n'), v128(128, 'v'), v300(300, 'w');
  const std::vector<ParamCase> cases = {
      {"short pair", "SCRIPT_NAME", "/a.php", "\x0B\x06SCRIPT_NAME/a.php"},
      {"empty value", "QUERY_STRING", "", std::string("\x0C\x00QUERY_STRING", 14)},
      {"127-byte name keeps one byte", n127, "x", "\x7F\x01" + n127 + "x"},
      {"128-byte value takes four", "V", v128, std::string("\x01\x80\x00\x00\x80V", 6) + v128},
      {"300-byte value", "W", v300, std::string("\x01\x80\x00\x01\x2CW", 6) + v300},
  };
  for (const ParamCase& c : cases) {
    SCOPED_TRACE(c.name);
    Encoded e(1024);
    ASSERT_TRUE(e.enc.param(c.paramName, c.value));
    ASSERT_TRUE(e.enc.endParams());
    const uint8_t padding = static_cast<uint8_t>((8 - c.content.size() % 8) % 8);
    EXPECT_EQ(e.bytes(), record(Type::kParams, c.content, padding) + record(Type::kParams, ""));
  }
}

TEST(FastCgiEncoderTest, PairsSplitAcrossRecordsAtTheContentCap) {
  Encoded e(256, 8);
  ASSERT_TRUE(e.enc.param("AB", "0123"));         // 8 bytes: fills one record exactly
  ASSERT_TRUE(e.enc.param("NAME", "VALUE_XYZ"));  // 15 bytes: 8 + 7
  ASSERT_TRUE(e.enc.endParams());
  EXPECT_EQ(e.bytes(), record(Type::kParams,
                              "\x02\x04"
                              "AB0123") +
                           record(Type::kParams, "\x04\x09NAMEVA") +
                           record(Type::kParams, "LUE_XYZ", 1) + record(Type::kParams, ""));
}

TEST(FastCgiEncoderTest, StdinChunksAndPadding) {
  Encoded e(256, 16);
  ASSERT_TRUE(e.enc.stdinData("0123456789abcdefXYZ"));
  ASSERT_TRUE(e.enc.stdinData(""));
  ASSERT_TRUE(e.enc.stdinData("q"));
  ASSERT_TRUE(e.enc.endStdin());
  EXPECT_EQ(e.bytes(), record(Type::kStdin, "0123456789abcdef") + record(Type::kStdin, "XYZ", 5) +
                           record(Type::kStdin, "q", 7) + record(Type::kStdin, ""));
}

TEST(FastCgiEncoderTest, AFullBufferLeavesItAsItWas) {
  for (size_t capacity = 0; capacity < 80; ++capacity) {
    SCOPED_TRACE("capacity " + std::to_string(capacity));
    Encoded e(capacity, 16);
    std::string before = e.bytes();
    const auto attempt = [&](bool ok) {
      if (ok) {
        EXPECT_GE(e.enc.size(), before.size());
      } else {
        EXPECT_EQ(e.bytes(), before);
      }
      e.enc.seal();
      before = e.bytes();
      EXPECT_EQ(before.size() % 8, 0u);
      EXPECT_LE(before.size(), capacity);
    };
    attempt(e.enc.beginRequest(true));
    attempt(e.enc.param("HTTP_HOST", "example.com"));
    attempt(e.enc.param("LONG", std::string(20, 'l')));
    attempt(e.enc.endParams());
    attempt(e.enc.stdinData("body bytes here"));
    attempt(e.enc.endStdin());
  }
}

TEST(FastCgiEncoderTest, ClearAfterAFullBufferThenRetry) {
  Encoded e(32, 16);
  ASSERT_TRUE(e.enc.param("A", "1"));
  EXPECT_FALSE(e.enc.param("B", std::string(20, 'x')));
  e.enc.seal();
  EXPECT_EQ(e.bytes(), record(Type::kParams,
                              "\x01\x01"
                              "A1",
                              4));
  e.enc.clear();
  EXPECT_EQ(e.enc.size(), 0u);
  ASSERT_TRUE(e.enc.param("B", "2"));
  EXPECT_FALSE(e.enc.stdinData(std::string(40, 's')));
  ASSERT_TRUE(e.enc.endParams());
  EXPECT_EQ(e.bytes(), record(Type::kParams,
                              "\x01\x01"
                              "B2",
                              4) +
                           record(Type::kParams, ""));
}

// --- Round trips ---------------------------------------------------------------------------------

// Walks encoded records, checks their framing, and returns the content of those of `type`.
std::string streamOf(std::string_view bytes, Type type, size_t maxContent) {
  std::string content;
  while (!bytes.empty()) {
    EXPECT_GE(bytes.size(), fcgi::kHeaderSize);
    if (bytes.size() < fcgi::kHeaderSize) break;
    const auto u = [&](size_t i) { return static_cast<unsigned char>(bytes[i]); };
    const size_t length = u(4) << 8 | u(5);
    EXPECT_EQ(u(0), 1);
    EXPECT_EQ((length + u(6)) % 8, 0u);
    EXPECT_LE(u(6), 7);
    EXPECT_LE(length, maxContent);
    EXPECT_GE(bytes.size(), fcgi::kHeaderSize + length + u(6));
    if (u(1) == static_cast<uint8_t>(type)) content += bytes.substr(fcgi::kHeaderSize, length);
    bytes.remove_prefix(std::min(bytes.size(), fcgi::kHeaderSize + length + u(6)));
  }
  return content;
}

// Reads FastCGI name-value pairs back.
std::vector<std::pair<std::string, std::string>> pairsOf(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> pairs;
  const auto length = [&s]() {
    size_t n = static_cast<unsigned char>(s[0]);
    if (n < 0x80) {
      s.remove_prefix(1);
      return n;
    }
    n = (n & 0x7F) << 24 | static_cast<size_t>(static_cast<unsigned char>(s[1])) << 16 |
        static_cast<size_t>(static_cast<unsigned char>(s[2])) << 8 |
        static_cast<unsigned char>(s[3]);
    s.remove_prefix(4);
    return n;
  };
  while (!s.empty()) {
    const size_t n = length();
    const size_t v = length();
    pairs.emplace_back(std::string(s.substr(0, n)), std::string(s.substr(n, v)));
    s.remove_prefix(n + v);
  }
  return pairs;
}

TEST(FastCgiCodecTest, ParamsRoundTripAtEveryContentCap) {
  const std::vector<std::pair<std::string, std::string>> params = {
      {"REQUEST_METHOD", "POST"},
      {"QUERY_STRING", ""},
      {"HTTP_COOKIE", std::string(200, 'c')},
      {std::string(130, 'N'), "v"},
      {"SCRIPT_FILENAME", "/srv/www/index.php"}};
  for (size_t cap : {1, 2, 7, 8, 9, 64, 65535}) {
    SCOPED_TRACE("content cap " + std::to_string(cap));
    Encoded e(8192, cap);
    for (const auto& [name, value] : params) ASSERT_TRUE(e.enc.param(name, value));
    ASSERT_TRUE(e.enc.endParams());
    EXPECT_EQ(pairsOf(streamOf(e.bytes(), Type::kParams, cap)), params);
  }
}

// STDIN records the encoder frames are turned into STDOUT records the decoder reads back.
TEST(FastCgiCodecTest, StreamRoundTripThroughTheDecoder) {
  std::string body;
  for (int i = 0; i < 700; ++i) body += static_cast<char>('a' + i % 26);
  for (size_t cap : {1, 5, 8, 13, 100, 4096}) {
    SCOPED_TRACE("content cap " + std::to_string(cap));
    Encoded e(16384, cap);
    ASSERT_TRUE(e.enc.stdinData(body.substr(0, 300)));
    ASSERT_TRUE(e.enc.stdinData(body.substr(300)));
    ASSERT_TRUE(e.enc.endStdin());
    std::string wire = e.bytes();
    for (size_t at = 0; at < wire.size();) {
      ASSERT_EQ(wire[at + 1], static_cast<char>(Type::kStdin));
      wire[at + 1] = static_cast<char>(Type::kStdout);
      at += fcgi::kHeaderSize +
            (static_cast<unsigned char>(wire[at + 4]) << 8 |
             static_cast<unsigned char>(wire[at + 5])) +
            static_cast<unsigned char>(wire[at + 6]);
    }
    wire += endRequest(0, 0);
    const Result r = decodePieces(wire, {});
    EXPECT_EQ(r.event, Event::kEnd);
    EXPECT_EQ(r.out, body);
    if (cap >= 100) expectSplitInvariant(wire, r);
  }
}

}  // namespace
}  // namespace hs
