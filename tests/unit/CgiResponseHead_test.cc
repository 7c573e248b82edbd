// CgiResponseHead: each application output is fed whole, in two pieces split at every offset and
// one byte at a time (each piece placed before a guard page); status, fields, redirect kind, where
// the body starts and the error must agree.
#include "CgiResponseHead.h"

#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "GuardedBuffer.h"
#include "SplitFeed.h"

namespace hs {
namespace {

using Status = CgiResponseHead::Status;
using Error = CgiResponseHead::Error;
using Redirect = CgiResponseHead::Redirect;

struct Result {
  Status status = Status::kNeedMore;
  Error error = Error::kNone;
  size_t used = 0;  // bytes of head
  int code = 0;
  std::string reason;
  std::string contentType;
  std::string location;
  Redirect redirect = Redirect::kNone;
  std::string fields;  // "name=value|" for each other field, in order
  bool operator==(const Result&) const = default;
};

void PrintTo(const Result& r, std::ostream* os) {
  *os << "{status=" << static_cast<int>(r.status) << " error=" << static_cast<int>(r.error)
      << " used=" << r.used << " code=" << r.code << " reason=" << r.reason
      << " type=" << r.contentType << " location=" << r.location
      << " redirect=" << static_cast<int>(r.redirect) << " fields=" << r.fields << "}";
}

Result parsePieces(std::string_view input, const std::vector<size_t>& cuts) {
  GuardedBuffer guard(input.size());
  static CgiResponseHead head;
  head.reset();
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
  if (r.status != Status::kDone) return r;
  r.code = head.status();
  r.reason = head.reason();
  r.contentType = head.contentType();
  r.location = head.location();
  r.redirect = head.redirect();
  for (size_t i = 0; i < head.fieldCount(); ++i) {
    r.fields += std::string(head.field(i).name) + "=" + std::string(head.field(i).value) + "|";
  }
  return r;
}

void expectSplitInvariant(std::string_view input, const Result& whole) {
  hs::expectSplitInvariant(input, whole, [&](std::string_view in, const std::vector<size_t>& cuts) {
    return parsePieces(in, cuts);
  });
}

struct ValidHead {
  const char* name;
  std::string head;
  std::string body;
  int code;
  std::string reason;
  std::string contentType;
  std::string location;
  Redirect redirect;
  std::string fields;
};

std::vector<ValidHead> validHeads() {
  const std::string many = [] {
    std::string s = "Content-Type: a/b\n";
    for (size_t i = 0; i < CgiResponseHead::kMaxFields; ++i)
      s += "X-" + std::to_string(i) + ": v\n";
    return s + "\n";
  }();
  std::string fieldsOfMany;
  for (size_t i = 0; i < CgiResponseHead::kMaxFields; ++i)
    fieldsOfMany += "X-" + std::to_string(i) + "=v|";
  // "Status: 200\n" (12) + "X: " (3) + value + "\n\n" (2) is exactly kMaxHead bytes.
  const std::string longValue(CgiResponseHead::kMaxHead - 17, 'l');
  return {
      {"document, CRLF", "Content-Type: text/html\r\n\r\n", "<p>hi</p>", 200, "", "text/html", "",
       Redirect::kNone, ""},
      {"document, LF", "Content-type: text/plain\n\n", "body\r\n\r\n", 200, "", "text/plain", "",
       Redirect::kNone, ""},
      {"mixed line ends", "Content-Type: a/b\r\nX-A: 1\n\r\n", "", 200, "", "a/b", "",
       Redirect::kNone, "X-A=1|"},
      {"status with reason", "Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n", "nope",
       404, "Not Found", "text/html", "", Redirect::kNone, ""},
      {"status without reason", "status:500\n\n", "", 500, "", "", "", Redirect::kNone, ""},
      {"status reason keeps inner spaces", "Status: 418  I'm a  teapot \n\n", "", 418,
       "I'm a  teapot", "", "", Redirect::kNone, ""},
      {"local redirect", "Location: /other/page?q=1\r\n\r\n", "", 200, "", "", "/other/page?q=1",
       Redirect::kLocal, ""},
      {"client redirect", "Location: https://example.com/x\r\n\r\n", "", 302, "", "",
       "https://example.com/x", Redirect::kClient, ""},
      {"client redirect with document",
       "Status: 301 Moved\r\nLocation: http://h/\r\nContent-Type: text/html\r\n\r\n", "<a>", 301,
       "Moved", "text/html", "http://h/", Redirect::kClient, ""},
      {"path location with status is a client redirect",
       "Location: /login\r\nStatus: 303 See Other\r\n\r\n", "", 303, "See Other", "", "/login",
       Redirect::kClient, ""},
      {"network-path location", "Location: //cdn.example/x\n\n", "", 302, "", "", "//cdn.example/x",
       Redirect::kClient, ""},
      {"other fields in order, repeats kept",
       "Set-Cookie: a=1\r\nContent-Type: t/t\r\nSet-Cookie: b=2\r\nX-Empty:\r\nCache-Control:  "
       "no-cache \t\r\n\r\n",
       "", 200, "", "t/t", "", Redirect::kNone,
       "Set-Cookie=a=1|Set-Cookie=b=2|X-Empty=|Cache-Control=no-cache|"},
      {"value with obs-text and tabs", "Content-Type: a/b\nX-T: \xC3\xA9\tx\n\n", "", 200, "",
       "a/b", "", Redirect::kNone, "X-T=\xC3\xA9\tx|"},
      {"field limit", many, "", 200, "", "a/b", "", Redirect::kNone, fieldsOfMany},
      {"head of exactly the size limit", "Status: 200\nX: " + longValue + "\n\n", "b", 200, "", "",
       "", Redirect::kNone, "X=" + longValue + "|"},
  };
}

TEST(CgiResponseHeadTest, ValidHeadsWholeSplitAndByteByByte) {
  for (const ValidHead& c : validHeads()) {
    SCOPED_TRACE(c.name);
    const std::string input = c.head + c.body;
    const Result whole = parsePieces(input, {});
    EXPECT_EQ(whole.status, Status::kDone);
    EXPECT_EQ(whole.used, c.head.size());
    EXPECT_EQ(whole.code, c.code);
    EXPECT_EQ(whole.reason, c.reason);
    EXPECT_EQ(whole.contentType, c.contentType);
    EXPECT_EQ(whole.location, c.location);
    EXPECT_EQ(whole.redirect, c.redirect);
    EXPECT_EQ(whole.fields, c.fields);
    if (input.size() < 2000) expectSplitInvariant(input, whole);
  }
}

struct BadHead {
  const char* name;
  std::string input;
  Error error;
};

std::vector<BadHead> badHeads() {
  std::string tooMany = "Content-Type: a/b\n";
  for (size_t i = 0; i <= CgiResponseHead::kMaxFields; ++i)
    tooMany += "X-" + std::to_string(i) + ": v\n";
  return {
      {"no colon", "Content-Type text/html\r\n\r\n", Error::kBadLine},
      {"empty name", ": x\r\n\r\n", Error::kBadLine},
      {"space before colon", "Content-Type : a/b\r\n\r\n", Error::kBadLine},
      {"folded line", "Content-Type: a/b\r\n continued\r\n\r\n", Error::kBadLine},
      {"bare CR in value", "Content-Type: a\rb\r\n\r\n", Error::kBadLine},
      {"NUL in value", std::string("X-A: a\0b\nContent-Type: a/b\n\n", 28), Error::kBadLine},
      {"DEL in name", "X\x7F: 1\n\n", Error::kBadLine},
      {"body without a head", "<html>\n\n", Error::kBadLine},
      {"status not a number", "Status: abc\n\n", Error::kBadStatus},
      {"status too short", "Status: 20\n\n", Error::kBadStatus},
      {"status four digits", "Status: 2000\n\n", Error::kBadStatus},
      {"status below 100", "Status: 099 x\n\n", Error::kBadStatus},
      {"status above 599", "Status: 600 x\n\n", Error::kBadStatus},
      {"status empty", "Status:\n\n", Error::kBadStatus},
      {"two statuses", "Status: 200\nStatus: 404\n\n", Error::kDuplicate},
      {"two content types", "Content-Type: a/b\ncontent-type: c/d\n\n", Error::kDuplicate},
      {"two locations", "Location: /a\nLocation: /b\n\n", Error::kDuplicate},
      {"relative location", "Location: page.html\n\n", Error::kBadLocation},
      {"empty location", "Location:\n\n", Error::kBadLocation},
      {"scheme with a bad byte", "Location: ht tp://x\n\n", Error::kBadLocation},
      {"only other fields", "X-Powered-By: me\n\n", Error::kNoFields},
      {"empty head", "\r\nbody", Error::kNoFields},
      {"too many fields", tooMany + "\n", Error::kTooManyFields},
      {"head one byte over the limit",
       "Status: 200\nX: " + std::string(CgiResponseHead::kMaxHead - 16, 'x') + "\n\n",
       Error::kTooLarge},
      {"empty output", "", Error::kTruncated},
      {"output ends in a field", "Content-Type: a/b", Error::kTruncated},
      {"output ends before the empty line", "Content-Type: a/b\r\n", Error::kTruncated},
      {"output ends after the CR of the empty line", "Content-Type: a/b\r\n\r", Error::kTruncated},
  };
}

TEST(CgiResponseHeadTest, InvalidHeadsRejectedPrecisely) {
  for (const BadHead& c : badHeads()) {
    SCOPED_TRACE(c.name);
    const Result whole = parsePieces(c.input, {});
    EXPECT_EQ(whole.status, Status::kError);
    EXPECT_EQ(whole.error, c.error);
    if (c.input.size() < 2000) expectSplitInvariant(c.input, whole);
  }
}

TEST(CgiResponseHeadTest, DoneAndErrorAreFinal) {
  CgiResponseHead head;
  const std::string input = "Content-Type: a/b\n\nbody";
  size_t used = 0;
  EXPECT_EQ(head.feed(input.data(), input.size(), &used), Status::kDone);
  EXPECT_EQ(used, 19u);
  EXPECT_EQ(head.feed(input.data() + used, input.size() - used, &used), Status::kDone);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(head.finish(), Status::kDone);
  head.reset();
  EXPECT_EQ(head.feed("bad\n", 4, &used), Status::kError);
  EXPECT_EQ(head.feed(input.data(), input.size(), &used), Status::kError);
  EXPECT_EQ(used, 0u);
  EXPECT_EQ(head.finish(), Status::kError);
}

}  // namespace
}  // namespace hs
