#include "CgiResponseHead.h"

#include "HttpLexical.h"

namespace hs {

namespace {

// RFC 3986 scheme ":" at the start of an absolute URI.
bool hasScheme(std::string_view s) {
  if (s.empty() || !isAlpha(static_cast<unsigned char>(s[0]))) return false;
  for (size_t i = 1; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == ':') return true;
    if (!isAlnum(c) && c != '+' && c != '-' && c != '.') return false;
  }
  return false;
}

}  // namespace

void CgiResponseHead::reset() {
  state_ = Status::kNeedMore;
  error_ = Error::kNone;
  status_ = 0;
  redirect_ = Redirect::kNone;
  hasStatus_ = hasContentType_ = hasLocation_ = false;
  size_ = lineStart_ = fieldCount_ = 0;
  reason_ = contentType_ = location_ = {};
}

CgiResponseHead::Status CgiResponseHead::fail(Error e) {
  state_ = Status::kError;
  error_ = e;
  return state_;
}

CgiResponseHead::Status CgiResponseHead::feed(const char* data, size_t len, size_t* used) {
  *used = 0;
  if (state_ != Status::kNeedMore) return state_;
  while (*used < len) {
    if (size_ == kMaxHead) return fail(Error::kTooLarge);
    const char c = data[(*used)++];
    head_[size_++] = c;
    if (c != '\n') continue;
    if (lineDone() != Status::kNeedMore) return state_;
  }
  return state_;
}

// A line (ending in LF, maybe CRLF) is complete in head_[lineStart_, size_).
CgiResponseHead::Status CgiResponseHead::lineDone() {
  std::string_view line(head_ + lineStart_, size_ - lineStart_ - 1);
  lineStart_ = size_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty()) return headDone();
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return fail(Error::kBadLine);
  const Error e = parseField(line.substr(0, colon), trimOws(line.substr(colon + 1)));
  return e == Error::kNone ? state_ : fail(e);
}

CgiResponseHead::Error CgiResponseHead::parseField(std::string_view name, std::string_view value) {
  if (!isToken(name)) return Error::kBadLine;
  for (char c : value) {
    if (!isFieldValueByte(static_cast<unsigned char>(c))) return Error::kBadLine;
  }
  if (equalsIgnoreCase(name, "Status")) return parseStatus(value);
  if (equalsIgnoreCase(name, "Content-Type")) {
    if (hasContentType_) return Error::kDuplicate;
    hasContentType_ = true;
    contentType_ = value;
    return Error::kNone;
  }
  if (equalsIgnoreCase(name, "Location")) {
    if (hasLocation_) return Error::kDuplicate;
    if (value.empty() || (value[0] != '/' && !hasScheme(value))) return Error::kBadLocation;
    hasLocation_ = true;
    location_ = value;
    return Error::kNone;
  }
  if (fieldCount_ == kMaxFields) return Error::kTooManyFields;
  fields_[fieldCount_++] = Field{name, value};
  return Error::kNone;
}

CgiResponseHead::Error CgiResponseHead::parseStatus(std::string_view value) {
  if (hasStatus_) return Error::kDuplicate;
  uint64_t code = 0;
  if (!parseDecimal(value.substr(0, 3), &code) || value.size() < 3 || code < 100 || code > 599) {
    return Error::kBadStatus;
  }
  if (value.size() > 3 && value[3] != ' ') return Error::kBadStatus;
  hasStatus_ = true;
  status_ = static_cast<int>(code);
  reason_ = value.size() > 3 ? trimOws(value.substr(4)) : std::string_view();
  return Error::kNone;
}

CgiResponseHead::Status CgiResponseHead::headDone() {
  if (!hasStatus_ && !hasContentType_ && !hasLocation_) return fail(Error::kNoFields);
  if (hasLocation_) {
    const bool local = !hasStatus_ && location_[0] == '/' && location_.substr(0, 2) != "//";
    redirect_ = local ? Redirect::kLocal : Redirect::kClient;
  }
  if (!hasStatus_) status_ = redirect_ == Redirect::kClient ? 302 : 200;
  state_ = Status::kDone;
  return state_;
}

CgiResponseHead::Status CgiResponseHead::finish() {
  if (state_ == Status::kNeedMore) return fail(Error::kTruncated);
  return state_;
}

}  // namespace hs
