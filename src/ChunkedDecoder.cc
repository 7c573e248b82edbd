// Chunked transfer coding (RFC 9112 7.1): a byte-at-a-time state machine outside chunk data,
// whose whole state lives in the object; chunk data is skipped in one step.
#include "ChunkedDecoder.h"

#include "HttpLexical.h"

namespace hs {

enum class ChunkedDecoder::State : uint8_t {
  // The chunk-size line: every state before kSizeLf counts toward kMaxChunkSizeLine.
  kSize,           // hex digits of a chunk size
  kSizeWs,         // BWS after the size; only ';' may follow (RFC 9112 7.1.1)
  kExtNameStart,   // after ';': BWS, then the first tchar of chunk-ext-name
  kExtName,        // in chunk-ext-name
  kExtNameWs,      // BWS after the name: '=' or the next ';'
  kExtValueStart,  // after '=': BWS, then a token or a quoted-string
  kExtToken,       // in a token value
  kExtQuoted,      // in a quoted-string value
  kExtQuotedPair,  // after a backslash inside the quoted-string
  kExtValueEnd,    // right after a value: CR, ';' or BWS
  kExtValueWs,     // BWS after a value: only the next ';' may follow
  kSizeLf,
  kData,
  kDataCr,  // the CRLF that must follow each chunk's data
  kDataLf,
  kTrailer,  // first byte of a trailer field line, or of the final empty line
  kTrailerName,
  kTrailerValue,
  kTrailerLf,
  kFinalLf,
  kDone,
  kError,
};

namespace {

constexpr uint16_t kBadRequest = 400;
constexpr uint16_t kContentTooLarge = 413;

constexpr uint32_t kMaxChunkSizeLine = 4096;  // chunk size plus extensions
constexpr uint32_t kMaxTrailerBytes = 8192;   // whole trailer section
constexpr uint8_t kMaxChunkSizeDigits = 16;   // 16 hex digits always fit in uint64_t

}  // namespace

void ChunkedDecoder::reset() { *this = ChunkedDecoder(maxBody_); }

ChunkedDecoder::Status ChunkedDecoder::fail(uint16_t status) {
  error_ = status;
  state_ = State::kError;
  return Status::kError;
}

ChunkedDecoder::Status ChunkedDecoder::feed(const char* data, size_t len, size_t* used) {
  return run(data, len, used, nullptr);
}

ChunkedDecoder::Status ChunkedDecoder::next(const char* data, size_t len, size_t* used,
                                            std::string_view* chunk) {
  *chunk = {};
  return run(data, len, used, chunk);
}

ChunkedDecoder::Status ChunkedDecoder::run(const char* data, size_t len, size_t* used,
                                           std::string_view* chunk) {
  *used = 0;
  if (state_ == State::kDone) return Status::kDone;
  if (state_ == State::kError) return Status::kError;
  size_t i = 0;
  while (i < len) {
    if (state_ == State::kData) {
      const uint64_t avail = len - i;
      const uint64_t n = remaining_ < avail ? remaining_ : avail;
      i += static_cast<size_t>(n);
      remaining_ -= n;
      body_ += n;
      if (remaining_ == 0) state_ = State::kDataCr;
      if (chunk != nullptr && n > 0) {
        *chunk = std::string_view(data + i - n, static_cast<size_t>(n));
        *used = i;
        return Status::kNeedMore;
      }
      continue;
    }
    const uint16_t status = step(static_cast<unsigned char>(data[i]));
    *used = ++i;
    if (status != 0) return fail(status);
    if (state_ == State::kDone) return Status::kDone;
  }
  *used = i;
  return Status::kNeedMore;
}

// One byte outside chunk data. Returns an error status or 0. Every line ends in CRLF: a bare LF
// is refused, as in the request head, since front ends disagree on it (request smuggling).
uint16_t ChunkedDecoder::step(unsigned char c) {
  if (state_ < State::kSizeLf) {
    if (c != '\r' && ++lineBytes_ > kMaxChunkSizeLine) return kBadRequest;
    return state_ == State::kSize ? stepSize(c) : stepExtension(c);
  }
  if (state_ >= State::kTrailer && ++lineBytes_ > kMaxTrailerBytes) return kBadRequest;
  switch (state_) {
    case State::kSizeLf:
      if (c != '\n') return kBadRequest;
      // Data follows, or the trailer section after the last chunk.
      state_ = remaining_ == 0 ? State::kTrailer : State::kData;
      lineBytes_ = 0;
      return 0;
    case State::kDataCr:
      if (c != '\r') return kBadRequest;
      state_ = State::kDataLf;
      return 0;
    case State::kDataLf:
      if (c != '\n') return kBadRequest;
      state_ = State::kSize;
      digits_ = 0;
      lineBytes_ = 0;
      return 0;
    default:
      return stepTrailer(c);
  }
}

// The hex digits of a chunk size, up to the byte after them.
uint16_t ChunkedDecoder::stepSize(unsigned char c) {
  const int h = hexValue(c);
  if (h >= 0) {
    if (++digits_ > kMaxChunkSizeDigits) return kBadRequest;
    remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
    return 0;
  }
  if (digits_ == 0) return kBadRequest;
  // body_ <= maxBody_ always holds, so the subtraction cannot wrap.
  if (remaining_ > maxBody_ - body_) return kContentTooLarge;
  state_ = State::kSizeWs;
  return stepExtension(c);
}

// chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), where chunk-ext-name
// is a token and chunk-ext-val a token or a quoted-string (RFC 9112 7.1.1). Extensions are
// checked, then ignored.
uint16_t ChunkedDecoder::stepExtension(unsigned char c) {
  const auto next = [this](State s) -> uint16_t {
    state_ = s;
    return 0;
  };
  const bool ws = isOws(c);
  switch (state_) {
    case State::kSizeWs:
    case State::kExtValueWs:
      if (c == ';') return next(State::kExtNameStart);
      if (state_ == State::kSizeWs && c == '\r') return next(State::kSizeLf);
      return ws ? next(State::kExtValueWs) : kBadRequest;
    case State::kExtNameStart:
      if (ws) return 0;
      return isTchar(c) ? next(State::kExtName) : kBadRequest;
    case State::kExtName:
      if (isTchar(c)) return 0;
      if (c == '=') return next(State::kExtValueStart);
      if (ws) return next(State::kExtNameWs);
      state_ = State::kExtValueEnd;
      return stepExtension(c);
    case State::kExtNameWs:
      if (ws) return 0;
      if (c == '=') return next(State::kExtValueStart);
      return c == ';' ? next(State::kExtNameStart) : kBadRequest;
    case State::kExtValueStart:
      if (ws) return 0;
      if (c == '"') return next(State::kExtQuoted);
      return isTchar(c) ? next(State::kExtToken) : kBadRequest;
    case State::kExtToken:
      if (isTchar(c)) return 0;
      state_ = State::kExtValueEnd;
      return stepExtension(c);
    case State::kExtQuoted:
      if (c == '"') return next(State::kExtValueEnd);
      if (c == '\\') return next(State::kExtQuotedPair);
      return isQdtext(c) ? 0 : kBadRequest;
    case State::kExtQuotedPair:
      return isFieldValueByte(c) ? next(State::kExtQuoted) : kBadRequest;
    case State::kExtValueEnd:
      if (c == '\r') return next(State::kSizeLf);
      if (c == ';') return next(State::kExtNameStart);
      return ws ? next(State::kExtValueWs) : kBadRequest;
    default:
      return kBadRequest;  // unreachable: step() passes only size-line states
  }
}

// The trailer section: field lines, validated and skipped, then the final CRLF.
uint16_t ChunkedDecoder::stepTrailer(unsigned char c) {
  switch (state_) {
    case State::kTrailer:
      if (c == '\r') {
        state_ = State::kFinalLf;
      } else if (isTchar(c)) {
        state_ = State::kTrailerName;
      } else {
        return kBadRequest;
      }
      return 0;
    case State::kTrailerName:
      if (c == ':') {
        state_ = State::kTrailerValue;
      } else if (!isTchar(c)) {
        return kBadRequest;
      }
      return 0;
    case State::kTrailerValue:
      if (c == '\r') {
        state_ = State::kTrailerLf;
      } else if (!isFieldValueByte(c)) {
        return kBadRequest;
      }
      return 0;
    case State::kTrailerLf:
      if (c != '\n') return kBadRequest;
      state_ = State::kTrailer;
      return 0;
    case State::kFinalLf:
      if (c != '\n') return kBadRequest;
      state_ = State::kDone;
      return 0;
    default:
      return kBadRequest;  // unreachable: feed() handles kData, kDone and kError
  }
}

}  // namespace hs
