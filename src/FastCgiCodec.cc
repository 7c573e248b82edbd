#include "FastCgiCodec.h"

#include <cstring>

namespace hs {

namespace {

constexpr uint8_t kRoleResponder = 1;
constexpr uint8_t kFlagKeepConn = 1;
constexpr size_t kMaxPadding = 7;
constexpr size_t kEndBodySize = 8;
constexpr size_t kMaxNameValueLength = 0x7FFFFFFF;

size_t paddingFor(size_t contentLength) { return (8 - contentLength % 8) % 8; }

void putHeader(char* at, fcgi::Type type, uint16_t requestId, size_t contentLength) {
  at[0] = static_cast<char>(fcgi::kVersion);
  at[1] = static_cast<char>(type);
  at[2] = static_cast<char>(requestId >> 8);
  at[3] = static_cast<char>(requestId & 0xFF);
  at[4] = static_cast<char>(contentLength >> 8);
  at[5] = static_cast<char>(contentLength & 0xFF);
  at[6] = static_cast<char>(paddingFor(contentLength));
  at[7] = 0;
}

}  // namespace

FastCgiEncoder::FastCgiEncoder(char* buf, size_t capacity, uint16_t requestId, size_t maxContent)
    : buf_(buf),
      capacity_(capacity),
      maxContent_(maxContent == 0 || maxContent > fcgi::kMaxContent ? fcgi::kMaxContent
                                                                    : maxContent),
      requestId_(requestId) {}

bool FastCgiEncoder::rollback(Mark m) {
  size_ = m.size;
  open_ = m.open;
  return false;
}

void FastCgiEncoder::seal() {
  if (open_ != kNone) closeRecord();
}

void FastCgiEncoder::clear() {
  seal();
  size_ = 0;
}

// A whole record with the given content. An open PARAMS record is closed first, so records never
// interleave.
bool FastCgiEncoder::writeRecord(fcgi::Type type, std::string_view content) {
  const Mark m = mark();
  seal();
  const size_t padding = paddingFor(content.size());
  if (capacity_ - size_ < fcgi::kHeaderSize + content.size() + padding) return rollback(m);
  putHeader(buf_ + size_, type, requestId_, content.size());
  size_ += fcgi::kHeaderSize;
  if (!content.empty()) std::memcpy(buf_ + size_, content.data(), content.size());
  size_ += content.size();
  std::memset(buf_ + size_, 0, padding);
  size_ += padding;
  return true;
}

bool FastCgiEncoder::openRecord() {
  if (capacity_ - size_ < fcgi::kHeaderSize + kMaxPadding) return false;
  open_ = size_;
  size_ += fcgi::kHeaderSize;
  return true;
}

void FastCgiEncoder::closeRecord() {
  const size_t content = size_ - open_ - fcgi::kHeaderSize;
  char* header = buf_ + open_;
  putHeader(header, static_cast<fcgi::Type>(header[1]), requestId_, content);
  const size_t padding = paddingFor(content);
  std::memset(buf_ + size_, 0, padding);
  size_ += padding;
  open_ = kNone;
}

// Appends bytes to the open record of `type` (opening one when needed), starting a new record when
// one reaches maxContent_. Room for the open record's padding stays reserved.
bool FastCgiEncoder::appendStream(fcgi::Type type, std::string_view bytes) {
  while (!bytes.empty()) {
    if (open_ == kNone) {
      if (!openRecord()) return false;
      buf_[open_ + 1] = static_cast<char>(type);
    }
    const size_t content = size_ - open_ - fcgi::kHeaderSize;
    if (content == maxContent_) {
      closeRecord();
      continue;
    }
    size_t n = maxContent_ - content;
    if (n > bytes.size()) n = bytes.size();
    if (capacity_ - size_ - kMaxPadding < n) return false;
    std::memcpy(buf_ + size_, bytes.data(), n);
    size_ += n;
    bytes.remove_prefix(n);
  }
  return true;
}

bool FastCgiEncoder::appendLength(fcgi::Type type, size_t length) {
  if (length < 0x80) {
    const char one = static_cast<char>(length);
    return appendStream(type, std::string_view(&one, 1));
  }
  const char four[4] = {static_cast<char>((length >> 24) | 0x80),
                        static_cast<char>((length >> 16) & 0xFF),
                        static_cast<char>((length >> 8) & 0xFF), static_cast<char>(length & 0xFF)};
  return appendStream(type, std::string_view(four, sizeof four));
}

bool FastCgiEncoder::beginRequest(bool keepConn) {
  const char body[8] = {0, kRoleResponder, keepConn ? static_cast<char>(kFlagKeepConn) : '\0'};
  return writeRecord(fcgi::Type::kBeginRequest, std::string_view(body, sizeof body));
}

bool FastCgiEncoder::param(std::string_view name, std::string_view value) {
  if (name.size() > kMaxNameValueLength || value.size() > kMaxNameValueLength) return false;
  const Mark m = mark();
  if (open_ != kNone && buf_[open_ + 1] != static_cast<char>(fcgi::Type::kParams)) seal();
  if (appendLength(fcgi::Type::kParams, name.size()) &&
      appendLength(fcgi::Type::kParams, value.size()) && appendStream(fcgi::Type::kParams, name) &&
      appendStream(fcgi::Type::kParams, value)) {
    return true;
  }
  return rollback(m);
}

bool FastCgiEncoder::endParams() { return writeRecord(fcgi::Type::kParams, {}); }

bool FastCgiEncoder::stdinData(std::string_view data) {
  const Mark m = mark();
  seal();
  if (!appendStream(fcgi::Type::kStdin, data)) return rollback(m);
  seal();
  return true;
}

bool FastCgiEncoder::endStdin() { return writeRecord(fcgi::Type::kStdin, {}); }

bool FastCgiEncoder::abortRequest() { return writeRecord(fcgi::Type::kAbortRequest, {}); }

void FastCgiDecoder::reset(uint16_t requestId) { *this = FastCgiDecoder(requestId, maxContent_); }

FastCgiDecoder::Event FastCgiDecoder::fail(Error e) {
  state_ = State::kError;
  error_ = e;
  return Event::kError;
}

// Checks a complete header and picks the next state. kNeedMore means "go on".
FastCgiDecoder::Event FastCgiDecoder::headerDone() {
  have_ = 0;
  if (header_[0] != fcgi::kVersion) return fail(Error::kVersion);
  if ((header_[2] << 8 | header_[3]) != requestId_) return fail(Error::kRequestId);
  type_ = static_cast<fcgi::Type>(header_[1]);
  const size_t length = static_cast<size_t>(header_[4] << 8 | header_[5]);
  padding_ = header_[6];
  if (type_ == fcgi::Type::kEndRequest) {
    if (length != kEndBodySize) return fail(Error::kLength);
  } else if (type_ == fcgi::Type::kStdout || type_ == fcgi::Type::kStderr) {
    bool& closed = type_ == fcgi::Type::kStdout ? stdoutClosed_ : stderrClosed_;
    if (closed) return fail(Error::kLength);
    if (length == 0) closed = true;
    if (length > maxContent_) return fail(Error::kTooLarge);
  } else {
    return fail(Error::kType);
  }
  remaining_ = static_cast<uint16_t>(length);
  state_ = length > 0 ? State::kContent : padding_ > 0 ? State::kPadding : State::kHeader;
  return Event::kNeedMore;
}

FastCgiDecoder::Event FastCgiDecoder::endRequestDone() {
  appStatus_ = static_cast<uint32_t>(header_[0]) << 24 | static_cast<uint32_t>(header_[1]) << 16 |
               static_cast<uint32_t>(header_[2]) << 8 | header_[3];
  if (header_[4] > static_cast<uint8_t>(fcgi::ProtocolStatus::kUnknownRole)) {
    return fail(Error::kProtocolStatus);
  }
  protocolStatus_ = static_cast<fcgi::ProtocolStatus>(header_[4]);
  have_ = 0;
  state_ = padding_ > 0 ? State::kPadding : State::kEnd;
  return state_ == State::kEnd ? Event::kEnd : Event::kNeedMore;
}

FastCgiDecoder::Event FastCgiDecoder::feed(const char* data, size_t len, size_t* used,
                                           std::string_view* payload) {
  *used = 0;
  *payload = {};
  if (state_ == State::kError) return Event::kError;
  if (state_ == State::kEnd) return len == 0 ? Event::kEnd : fail(Error::kAfterEnd);
  size_t i = 0;
  Event event = Event::kNeedMore;
  while (i < len && event == Event::kNeedMore) {
    switch (state_) {
      case State::kHeader:
        header_[have_++] = static_cast<unsigned char>(data[i++]);
        if (have_ == fcgi::kHeaderSize) event = headerDone();
        break;
      case State::kContent:
        if (type_ == fcgi::Type::kEndRequest) {
          header_[have_++] = static_cast<unsigned char>(data[i++]);
          if (--remaining_ == 0) event = endRequestDone();
        } else {
          size_t n = len - i < remaining_ ? len - i : remaining_;
          *payload = std::string_view(data + i, n);
          i += n;
          remaining_ = static_cast<uint16_t>(remaining_ - n);
          if (remaining_ == 0) state_ = padding_ > 0 ? State::kPadding : State::kHeader;
          event = type_ == fcgi::Type::kStdout ? Event::kStdout : Event::kStderr;
        }
        break;
      case State::kPadding: {
        const size_t n = len - i < padding_ ? len - i : padding_;
        i += n;
        padding_ = static_cast<uint8_t>(padding_ - n);
        if (padding_ > 0) break;
        if (type_ != fcgi::Type::kEndRequest) {
          state_ = State::kHeader;
          break;
        }
        state_ = State::kEnd;
        event = Event::kEnd;
        break;
      }
      case State::kEnd:
      case State::kError:
        break;
    }
  }
  *used = i;
  return event;
}

FastCgiDecoder::Event FastCgiDecoder::finish() {
  if (state_ == State::kEnd) return Event::kEnd;
  if (state_ == State::kError) return Event::kError;
  return fail(Error::kTruncated);
}

}  // namespace hs
