#include "HttpResponseHead.h"

#include <cstring>

#include "HttpLexical.h"

namespace hs {

namespace {

constexpr std::string_view kHttpPrefix = "HTTP/";

// Fields that describe one connection, never forwarded (RFC 9110 7.6.1; Proxy-Connection is the
// old non-standard one).
bool alwaysHopByHop(std::string_view name) {
  for (std::string_view h : {"connection", "keep-alive", "te", "trailer", "transfer-encoding",
                             "upgrade", "proxy-connection"}) {
    if (equalsLowerCase(name, h)) return true;
  }
  return false;
}

}  // namespace

void HttpResponseHead::reset(bool headRequest, bool upgradeAsked) {
  state_ = Status::kNeedMore;
  error_ = Error::kNone;
  headRequest_ = headRequest;
  upgradeAsked_ = upgradeAsked;
  interim_ = 0;
  startHead();
}

void HttpResponseHead::startHead() {
  statusSeen_ = hasLength_ = chunked_ = hasEncoding_ = connClose_ = connKeepAlive_ = false;
  keepAlive_ = false;
  framing_ = Framing::kNone;
  status_ = 0;
  minor_ = 1;
  length_ = 0;
  size_ = 0;
  fieldCount_ = 0;
}

HttpResponseHead::Status HttpResponseHead::fail(Error e) {
  state_ = Status::kError;
  error_ = e;
  return state_;
}

HttpResponseHead::Status HttpResponseHead::feed(const char* data, size_t len, size_t* used) {
  *used = 0;
  if (state_ != Status::kNeedMore) return state_;
  while (*used < len) {
    const char* p = data + *used;
    const size_t left = len - *used;
    const auto* nl = static_cast<const char*>(std::memchr(p, '\n', left));
    const size_t take = nl != nullptr ? static_cast<size_t>(nl - p) + 1 : left;
    if (size_ + take > kMaxHead) return fail(Error::kTooLarge);
    std::memcpy(head_ + size_, p, take);
    size_ += take;
    *used += take;
    // HTTP/0.9-style bytes (a body without any head) are refused as soon as they show.
    if (!statusSeen_) {
      const size_t n = size_ < kHttpPrefix.size() ? size_ : kHttpPrefix.size();
      if (std::string_view(head_, n) != kHttpPrefix.substr(0, n)) {
        return fail(Error::kBadStatusLine);
      }
    }
    if (nl == nullptr) break;
    if (lineDone() != Status::kNeedMore) return state_;
  }
  return state_;
}

HttpResponseHead::Status HttpResponseHead::finish() {
  if (state_ == Status::kNeedMore) return fail(Error::kTruncated);
  return state_;
}

// A line ending in LF (maybe CRLF) is complete at the end of head_.
HttpResponseHead::Status HttpResponseHead::lineDone() {
  size_t start = size_ - 1;
  while (start > 0 && head_[start - 1] != '\n') --start;
  std::string_view line(head_ + start, size_ - start - 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (!statusSeen_) {
    statusSeen_ = true;
    const Error e = parseStatusLine(line);
    return e == Error::kNone ? state_ : fail(e);
  }
  if (line.empty()) return headDone();
  const Error e = parseField(line);
  return e == Error::kNone ? state_ : fail(e);
}

// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 4); the SP before an
// empty reason may be missing, as some servers send it.
HttpResponseHead::Error HttpResponseHead::parseStatusLine(std::string_view line) {
  if (!line.starts_with(kHttpPrefix)) return Error::kBadStatusLine;
  if (line.size() < 12 || line[8] != ' ') return Error::kBadStatusLine;
  const std::string_view version = line.substr(5, 3);
  if (version != "1.1" && version != "1.0") {
    const bool shaped = isDigit(static_cast<unsigned char>(version[0])) && version[1] == '.' &&
                        isDigit(static_cast<unsigned char>(version[2]));
    return shaped ? Error::kBadVersion : Error::kBadStatusLine;
  }
  minor_ = version[2] - '0';
  uint64_t code = 0;
  if (!parseDecimal(line.substr(9, 3), &code) || code < 100 || code > 599) {
    return Error::kBadStatusLine;
  }
  status_ = static_cast<int>(code);
  if (line.size() > 12 && line[12] != ' ') return Error::kBadStatusLine;
  for (char c : line.substr(12)) {
    if (!isFieldValueByte(static_cast<unsigned char>(c))) return Error::kBadStatusLine;
  }
  return Error::kNone;
}

HttpResponseHead::Error HttpResponseHead::parseField(std::string_view line) {
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return Error::kBadField;
  const std::string_view name = line.substr(0, colon);  // also refuses folding and " name:"
  if (!isToken(name)) return Error::kBadField;
  const std::string_view value = trimOws(line.substr(colon + 1));
  for (char c : value) {
    if (!isFieldValueByte(static_cast<unsigned char>(c))) return Error::kBadField;
  }
  if (fieldCount_ == kMaxFields) return Error::kTooManyFields;
  fields_[fieldCount_++] = {name, value, false};
  if (equalsLowerCase(name, "content-length")) return noteLength(value);
  if (equalsLowerCase(name, "transfer-encoding")) return noteEncoding(value);
  if (equalsLowerCase(name, "connection")) {
    forEachListElement(value, [&](std::string_view t) {
      connClose_ = connClose_ || equalsLowerCase(t, "close");
      connKeepAlive_ = connKeepAlive_ || equalsLowerCase(t, "keep-alive");
      return true;
    });
  }
  return Error::kNone;
}

// Content-Length = 1*DIGIT; a list of equal values (or repeated equal fields) is one length
// (RFC 9110 8.6); anything else is an invalid or conflicting length.
HttpResponseHead::Error HttpResponseHead::noteLength(std::string_view value) {
  Error e = Error::kNone;
  forEachListElement(value, [&](std::string_view v) {
    uint64_t n = 0;
    if (!parseDecimal(v, &n, INT64_MAX)) {
      e = Error::kBadLength;
    } else if (hasLength_ && n != length_) {
      e = Error::kConflictingLength;
    }
    hasLength_ = true;
    length_ = n;
    return e == Error::kNone;
  });
  return e;
}

// Only "chunked", once and last, is a framing the proxy can decode; anything else (gzip, chunked
// twice, chunked followed by another coding, an empty element) would leave the body's end to
// guesswork.
HttpResponseHead::Error HttpResponseHead::noteEncoding(std::string_view value) {
  Error e = Error::kNone;
  forEachListElement(value, [&](std::string_view v) {
    if (chunked_ || !equalsLowerCase(v, "chunked")) e = Error::kBadEncoding;
    chunked_ = true;
    return e == Error::kNone;
  });
  hasEncoding_ = true;
  return e;
}

HttpResponseHead::Status HttpResponseHead::headDone() {
  if (status_ < 200 && status_ != 101) {  // interim: consumed, the final head follows
    if (++interim_ > kMaxInterim) return fail(Error::kTooManyInterim);
    startHead();
    return state_;
  }
  if (status_ == 101 && !upgradeAsked_) return fail(Error::kUnaskedSwitch);
  if (hasLength_ && hasEncoding_) return fail(Error::kLengthAndEncoding);
  if (hasEncoding_ && minor_ == 0) return fail(Error::kBadEncoding);
  markHopByHop();
  return decideFraming();
}

// RFC 9112 6.3, in its order.
HttpResponseHead::Status HttpResponseHead::decideFraming() {
  if (headRequest_ || status_ == 101 || status_ == 204 || status_ == 304) {
    framing_ = Framing::kNone;
  } else if (chunked_) {
    framing_ = Framing::kChunked;
  } else if (hasLength_) {
    framing_ = Framing::kLength;
  } else {
    framing_ = Framing::kClose;
  }
  keepAlive_ = framing_ != Framing::kClose && status_ != 101 &&
               (minor_ == 1 ? !connClose_ : connKeepAlive_ && !connClose_);
  state_ = Status::kDone;
  return state_;
}

void HttpResponseHead::markHopByHop() {
  for (size_t i = 0; i < fieldCount_; ++i) {
    Field& f = fields_[i];
    f.hopByHop = alwaysHopByHop(f.name);
    for (size_t j = 0; j < fieldCount_ && !f.hopByHop; ++j) {
      if (!equalsLowerCase(fields_[j].name, "connection")) continue;
      forEachListElement(fields_[j].value, [&](std::string_view t) {
        f.hopByHop = equalsIgnoreCase(t, f.name);
        return !f.hopByHop;
      });
    }
  }
}

}  // namespace hs
