// HTTP/1.x request-head parser (RFC 9112 2-6, RFC 9110 5-8): a byte-at-a-time state machine whose
// whole state lives in the object, so any split of the input gives the same result as the input in
// one piece. It skips runs of ordinary bytes in tight loops (see parse()); they change no state but
// the position.
#include "HttpParser.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string_view>

#include "HttpLexical.h"

namespace hs {

enum class HttpParser::State : uint8_t {
  // Request line. Every state up to kVersionEnd counts toward maxRequestLine.
  kStart,    // skipping empty lines before the request line (RFC 9112 2.2)
  kStartLf,  // CR of such an empty line seen
  kMethod,
  kTarget,       // mark_ is the target's first byte
  kVersionName,  // "HTTP/"; mark_ is its first byte
  kMajor,
  kDot,
  kMinor,
  kVersionEnd,  // after the minor digit; only CR or LF may follow
  kRequestLineLf,
  // Header section.
  kFieldStart,  // first byte of a field line, or of the empty line ending the head
  kFieldName,   // mark_ is the name's first byte
  kValueWs,     // OWS after the colon
  kValue,       // mark2_ is the value's first byte, tmp_ one past its last non-OWS byte
  kFieldLf,
  kHeadLf,  // CR of the final empty line seen
  kDone,
  kError,
};

namespace {

constexpr uint16_t kBadRequest = 400;
constexpr uint16_t kUriTooLong = 414;
constexpr uint16_t kExpectationFailed = 417;
constexpr uint16_t kHeadersTooLarge = 431;
constexpr uint16_t kVersionNotSupported = 505;

// Bits of HttpParser::flags_, gathered from every occurrence of a field (not only the first).
constexpr uint8_t kFlagClose = 1;              // Connection lists "close"
constexpr uint8_t kFlagKeepAlive = 2;          // Connection lists "keep-alive"
constexpr uint8_t kFlagChunked = 4;            // the last transfer coding seen so far is "chunked"
constexpr uint8_t kFlagContinue = 8;           // Expect lists "100-continue"
constexpr uint8_t kFlagOtherExpectation = 16;  // Expect lists anything else

// The longest method accepted: the registered ones have at most 17 bytes, so anything much longer
// is not a method any server implements (400 rather than 501, RFC 9110 9.1).
constexpr uint32_t kMaxMethodLength = 32;

constexpr bool isAlnumOr(unsigned char c, std::string_view extra) {
  return isAlnum(c) || extra.find(static_cast<char>(c)) != std::string_view::npos;
}

// Characters of uri-host [":" port]: unreserved, pct-encoded, sub-delims, ':' and IP-literal
// brackets (RFC 3986 3.2). Anything else (whitespace, '@', '/', controls) cannot be a Host.
constexpr ByteTable kAuthorityChar =
    byteTable([](unsigned char c) { return isAlnumOr(c, "-._~%!$&'()*+,;=:[]"); });
constexpr bool isAuthorityChar(unsigned char c) { return kAuthorityChar[c]; }

// Bytes a request-target may hold unencoded: visible ASCII but '#', since a fragment is never
// sent (RFC 9112 3.2, RFC 9110 4.2.1); finer checks are the path normaliser's.
constexpr ByteTable kTargetChar =
    byteTable([](unsigned char c) { return c >= 0x21 && c <= 0x7E && c != '#'; });

constexpr ByteTable kValueByte = byteTable(isFieldValueByte);

// The fast paths of the parser: the first index in [from, end) whose byte is not in `table`, or
// end.
uint32_t skipWhile(const char* data, uint32_t from, uint32_t end, const ByteTable& table) {
  while (from < end && table[static_cast<unsigned char>(data[from])]) ++from;
  return from;
}

// "HTTP/" DIGIT "." DIGIT at p (8 bytes).
bool isVersion(const char* p) {
  return std::string_view(p, 5) == "HTTP/" && isDigit(static_cast<unsigned char>(p[5])) &&
         p[6] == '.' && isDigit(static_cast<unsigned char>(p[7]));
}

// Indexed by KnownHeader; lower case.
constexpr std::string_view kKnownNames[] = {
    "host",
    "connection",
    "content-length",
    "transfer-encoding",
    "expect",
    "if-none-match",
    "if-modified-since",
    "if-match",
    "if-unmodified-since",
    "range",
    "if-range",
    "accept-encoding",
    "user-agent",
    "referer",
    "authorization",
};
static_assert(std::size(kKnownNames) == static_cast<size_t>(KnownHeader::kCount));

constexpr uint8_t kNotKnown = static_cast<uint8_t>(KnownHeader::kCount);

// For each name length, the known names of that length (at most two share one), so a lookup
// compares at most two strings.
constexpr size_t kLongestKnownName =
    std::ranges::max(kKnownNames, {}, &std::string_view::size).size();
constexpr size_t namesOfLength(size_t n) {
  return static_cast<size_t>(std::ranges::count(kKnownNames, n, &std::string_view::size));
}
static_assert(
    [] {
      for (size_t n = 0; n <= kLongestKnownName; ++n) {
        if (namesOfLength(n) > 2) return false;
      }
      return true;
    }(),
    "kKnownByLength holds two names per length");
constexpr auto kKnownByLength = [] {
  std::array<std::array<uint8_t, 2>, kLongestKnownName + 1> t{};
  for (auto& slot : t) slot = {kNotKnown, kNotKnown};
  for (uint8_t i = 0; i < kNotKnown; ++i) {
    auto& slot = t[kKnownNames[i].size()];
    slot[slot[0] == kNotKnown ? 0 : 1] = i;
  }
  return t;
}();

uint8_t lookupHeader(std::string_view name) {
  if (name.size() > kLongestKnownName) return kNotKnown;
  for (uint8_t i : kKnownByLength[name.size()]) {
    if (i != kNotKnown && equalsLowerCase(name, kKnownNames[i])) return i;
  }
  return kNotKnown;
}

constexpr uint32_t bit(KnownHeader h) { return 1u << static_cast<unsigned>(h); }

struct MethodName {
  std::string_view text;
  Method method;
};
constexpr MethodName kMethods[] = {
    {"GET", Method::kGet},     {"HEAD", Method::kHead},   {"OPTIONS", Method::kOptions},
    {"POST", Method::kPost},   {"PUT", Method::kPut},     {"DELETE", Method::kDelete},
    {"PATCH", Method::kPatch}, {"TRACE", Method::kTrace}, {"CONNECT", Method::kConnect},
};

// Method names are case-sensitive (RFC 9110 9.1).
Method lookupMethod(std::string_view text) {
  for (const MethodName& m : kMethods) {
    if (m.text == text) return m.method;
  }
  return Method::kUnknown;
}

// Content-Length value, or a list of identical values (RFC 9110 8.6); -1 when malformed.
int64_t parseContentLength(std::string_view value) {
  int64_t result = -1;
  const bool ok = forEachListElement(value, [&result](std::string_view e) {
    uint64_t n = 0;
    if (!parseDecimal(e, &n, INT64_MAX)) return false;
    if (result >= 0 && static_cast<int64_t>(n) != result) return false;
    result = static_cast<int64_t>(n);
    return true;
  });
  return ok ? result : -1;
}

// Folds one Transfer-Encoding field into *flags. False when a coding follows "chunked" (it must
// be applied last and only once, RFC 9112 6.1) or an element is not a transfer-coding.
bool applyTransferEncoding(std::string_view value, uint8_t* flags) {
  return forEachListElement(value, [flags](std::string_view e) {
    if (e.empty()) return true;  // empty list elements are ignored (RFC 9110 5.6.1)
    if (*flags & kFlagChunked) return false;
    size_t n = 0;
    while (n < e.size() && isTchar(static_cast<unsigned char>(e[n]))) ++n;
    const std::string_view params = trimOws(e.substr(n));
    if (n == 0 || (!params.empty() && params.front() != ';')) return false;
    if (equalsLowerCase(e.substr(0, n), "chunked")) {
      if (!params.empty()) return false;  // chunked takes no parameters
      *flags |= kFlagChunked;
    }
    return true;
  });
}

// Expect = #expectation; only "100-continue" is defined (RFC 9110 10.1.1).
void applyExpect(std::string_view value, uint8_t* flags) {
  forEachListElement(value, [flags](std::string_view e) {
    if (equalsLowerCase(e, "100-continue")) {
      *flags |= kFlagContinue;
    } else if (!e.empty()) {
      *flags |= kFlagOtherExpectation;
    }
    return true;
  });
}

void applyConnection(std::string_view value, uint8_t* flags) {
  forEachListElement(value, [flags](std::string_view e) {
    if (equalsLowerCase(e, "close")) *flags |= kFlagClose;
    if (equalsLowerCase(e, "keep-alive")) *flags |= kFlagKeepAlive;
    return true;
  });
}

bool isValidHost(std::string_view value) {
  for (char ch : value) {
    if (!isAuthorityChar(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

}  // namespace

void HttpParser::reset() {
  const ParserLimits limits = limits_;
  *this = HttpParser(limits);
}

ParseStatus HttpParser::fail(uint16_t status) {
  error_ = status;
  state_ = State::kError;
  return ParseStatus::kError;
}

// Called with pos_ on the LF that ends the head.
ParseStatus HttpParser::done(HttpRequest* req) {
  pos_ += 1;
  if (const uint16_t status = finish(req)) return fail(status);
  consumed_ = pos_;
  state_ = State::kDone;
  return ParseStatus::kDone;
}

// Checks that need the whole head, and the derived fields that depend on several fields.
uint16_t HttpParser::finish(HttpRequest* req) const {
  const bool http11 = req->versionMinor == 1;
  if (http11 && !(seen_ & bit(KnownHeader::kHost))) return kBadRequest;  // RFC 9112 3.2
  if (seen_ & bit(KnownHeader::kTransferEncoding)) {
    // A body whose length the server cannot determine, or that two framings describe, is the
    // request-smuggling hazard of RFC 9112 6.1 and 6.3; refuse it instead of guessing.
    if (!http11 || (seen_ & bit(KnownHeader::kContentLength)) || !(flags_ & kFlagChunked)) {
      return kBadRequest;
    }
    req->chunked = true;
  }
  // Decided last, so that a malformed head is a 400 whatever it expects.
  if (flags_ & kFlagOtherExpectation) return kExpectationFailed;
  // An HTTP/1.0 client may not understand 100 (RFC 9110 10.1.1).
  req->expectContinue = http11 && (flags_ & kFlagContinue) != 0;
  if (flags_ & kFlagClose) {
    req->keepAlive = false;
  } else {
    req->keepAlive = http11 || (flags_ & kFlagKeepAlive) != 0;
  }
  return 0;
}

// Called once a field line is complete; the value is [mark2_, tmp_). Returns an error status or 0.
uint16_t HttpParser::endField(const char* data, HttpRequest* req) {
  ++req->headerCount;
  if (current_ == kNotKnown) return 0;
  const Span span{mark2_, tmp_ - mark2_};
  const std::string_view value = span.in(data);
  const uint32_t mask = 1u << current_;
  const bool first = (seen_ & mask) == 0;
  seen_ |= mask;
  if (first) req->known[current_] = span;
  switch (static_cast<KnownHeader>(current_)) {
    case KnownHeader::kHost:
      // An empty Host is allowed for targets without an authority (RFC 9112 3.2), which this
      // server never serves; refusing it is the safe reading.
      return first && !value.empty() && isValidHost(value) ? 0 : kBadRequest;
    case KnownHeader::kContentLength: {
      const int64_t n = parseContentLength(value);
      if (n < 0 || (!first && n != req->contentLength)) return kBadRequest;
      req->contentLength = n;
      return 0;
    }
    case KnownHeader::kTransferEncoding:
      return applyTransferEncoding(value, &flags_) ? 0 : kBadRequest;
    case KnownHeader::kConnection:
      applyConnection(value, &flags_);
      return 0;
    case KnownHeader::kExpect:
      applyExpect(value, &flags_);
      return 0;
    default:
      return 0;
  }
}

ParseStatus HttpParser::parse(const char* data, size_t len, HttpRequest* req) {
  if (state_ == State::kDone) return ParseStatus::kDone;
  if (state_ == State::kError) return ParseStatus::kError;
  if (state_ == State::kStart && pos_ == 0) *req = HttpRequest{};
  const uint32_t maxFields = limits_.maxHeaders < 0xFFFF ? limits_.maxHeaders : 0xFFFF;

  // The states that scan a run of ordinary bytes (method, target, field name, field value) skip
  // it in a tight loop, up to the first byte the state machine must see. The skip never passes a
  // limit (it stops where the checks at the top of the loop would have failed), so the result is
  // the same as going byte by byte.
  const uint32_t fieldEnd = static_cast<uint32_t>(std::min<size_t>(len, limits_.maxHeaderBytes));
  const uint32_t lineEnd = std::min(fieldEnd, limits_.maxRequestLine);

  while (pos_ < len) {
    if (pos_ >= limits_.maxHeaderBytes) return fail(kHeadersTooLarge);
    const auto c = static_cast<unsigned char>(data[pos_]);
    // The request line's length is the offset of its CR/LF, skipped empty lines included.
    if (state_ <= State::kVersionEnd && pos_ >= limits_.maxRequestLine &&
        (state_ <= State::kStartLf || (c != '\r' && c != '\n'))) {
      return fail(kUriTooLong);
    }
    switch (state_) {
      case State::kStart:
        if (c == '\r') {
          state_ = State::kStartLf;
        } else if (isTchar(c)) {
          mark_ = pos_;
          state_ = State::kMethod;
        } else {
          return fail(kBadRequest);  // includes an empty line ending in a bare LF
        }
        break;
      case State::kStartLf:
        if (c != '\n') return fail(kBadRequest);
        state_ = State::kStart;
        break;
      case State::kMethod:
        if (c == ' ') {
          req->methodText = Span{mark_, pos_ - mark_};
          req->method = lookupMethod(req->methodText.in(data));
          mark_ = pos_ + 1;
          state_ = State::kTarget;
        } else if (!isTchar(c) || pos_ - mark_ >= kMaxMethodLength) {
          return fail(kBadRequest);
        } else {
          pos_ =
              skipWhile(data, pos_ + 1, std::min(lineEnd, mark_ + kMaxMethodLength), kTokenChars) -
              1;
        }
        break;
      case State::kTarget:
        if (c == ' ') {
          if (pos_ == mark_) return fail(kBadRequest);  // empty target or a second SP
          req->target = Span{mark_, pos_ - mark_};
          mark_ = pos_ + 1;
          state_ = State::kVersionName;
        } else if (!kTargetChar[c]) {
          return fail(kBadRequest);
        } else {
          pos_ = skipWhile(data, pos_ + 1, lineEnd, kTargetChar) - 1;
        }
        break;
      case State::kVersionName:
        if (pos_ == mark_ && pos_ + 8 <= lineEnd && isVersion(data + pos_)) {  // whole "HTTP/d.d"
          req->versionMajor = static_cast<uint8_t>(data[pos_ + 5] - '0');
          req->versionMinor = static_cast<uint8_t>(data[pos_ + 7] - '0');
          state_ = State::kVersionEnd;
          pos_ += 7;
          break;
        }
        if (c != static_cast<unsigned char>("HTTP/"[pos_ - mark_])) return fail(kBadRequest);
        if (pos_ - mark_ == 4) state_ = State::kMajor;
        break;
      case State::kMajor:
        if (!isDigit(c)) return fail(kBadRequest);
        req->versionMajor = static_cast<uint8_t>(c - '0');
        state_ = State::kDot;
        break;
      case State::kDot:
        if (c != '.') return fail(kBadRequest);
        state_ = State::kMinor;
        break;
      case State::kMinor:
        if (!isDigit(c)) return fail(kBadRequest);
        req->versionMinor = static_cast<uint8_t>(c - '0');
        state_ = State::kVersionEnd;
        break;
      case State::kVersionEnd:
        if (c != '\r') return fail(kBadRequest);  // a bare LF too (see kFieldStart)
        // Well-formed but not 1.0/1.1: the version is the problem, not the syntax.
        if (req->versionMajor != 1 || req->versionMinor > 1) return fail(kVersionNotSupported);
        state_ = State::kRequestLineLf;
        break;
      case State::kRequestLineLf:
        if (c != '\n') return fail(kBadRequest);
        state_ = State::kFieldStart;
        break;
      case State::kFieldStart:
        if (c == '\r') {
          state_ = State::kHeadLf;
        } else if (isTchar(c)) {
          if (req->headerCount >= maxFields) return fail(kHeadersTooLarge);
          mark_ = pos_;
          state_ = State::kFieldName;
          pos_ = skipWhile(data, pos_ + 1, fieldEnd, kTokenChars) - 1;
        } else {
          // Covers obs-fold (RFC 9112 5.2), whitespace before the first field (2.2), empty names,
          // and a bare LF: RFC 9112 2.2 lets a recipient accept one, but two parsers that
          // disagree on line ends are how requests get smuggled past a front end.
          return fail(kBadRequest);
        }
        break;
      case State::kFieldName:
        if (c == ':') {
          current_ = lookupHeader(std::string_view(data + mark_, pos_ - mark_));
          mark2_ = tmp_ = pos_ + 1;
          state_ = State::kValueWs;
        } else if (!isTchar(c)) {
          return fail(kBadRequest);  // includes whitespace before the colon (RFC 9112 5.1)
        } else {
          pos_ = skipWhile(data, pos_ + 1, fieldEnd, kTokenChars) - 1;
        }
        break;
      case State::kValueWs:
        if (isOws(c)) {
          mark2_ = tmp_ = pos_ + 1;
          break;
        }
        state_ = State::kValue;
        [[fallthrough]];
      case State::kValue:
        if (c == '\r') {
          state_ = State::kFieldLf;
          if (pos_ + 1 < fieldEnd && data[pos_ + 1] == '\n') {  // the LF too, in one step
            if (const uint16_t status = endField(data, req)) return fail(status);
            state_ = State::kFieldStart;
            ++pos_;
          }
        } else if (!isFieldValueByte(c)) {  // includes a bare LF
          return fail(kBadRequest);
        } else {
          // Skip the run of value bytes, then find where its last non-OWS byte ends.
          const uint32_t end = skipWhile(data, pos_ + 1, fieldEnd, kValueByte);
          uint32_t last = end;
          while (last > pos_ && isOws(static_cast<unsigned char>(data[last - 1]))) --last;
          if (last > pos_) tmp_ = last;
          pos_ = end - 1;
        }
        break;
      case State::kFieldLf:
        if (c != '\n') return fail(kBadRequest);
        if (const uint16_t status = endField(data, req)) return fail(status);
        state_ = State::kFieldStart;
        break;
      case State::kHeadLf:
        if (c != '\n') return fail(kBadRequest);
        return done(req);
      case State::kDone:
      case State::kError:
        return ParseStatus::kError;  // unreachable: both return before the loop
    }
    ++pos_;
  }
  return ParseStatus::kNeedMore;
}

}  // namespace hs
