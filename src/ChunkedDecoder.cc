// Chunked transfer coding (RFC 9112 7.1): a byte-at-a-time state machine outside chunk data,
// whose whole state lives in the object; chunk data is skipped in one step.
#include "ChunkedDecoder.h"

#include "HttpLexical.h"

namespace hs {

enum class ChunkedDecoder::State : uint8_t {
  kSize,    // hex digits of a chunk size
  kSizeWs,  // BWS after the size; only ';' may follow (RFC 9112 7.1.1)
  kExt,     // chunk extensions, validated loosely and skipped
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

// One byte outside chunk data. Returns an error status or 0.
uint16_t ChunkedDecoder::step(unsigned char c) {
  if (state_ <= State::kExt && c != '\r' && c != '\n' && ++lineBytes_ > kMaxChunkSizeLine) {
    return kBadRequest;
  }
  if (state_ >= State::kTrailer && ++lineBytes_ > kMaxTrailerBytes) return kBadRequest;
  switch (state_) {
    case State::kSize: {
      const int h = hexValue(c);
      if (h >= 0) {
        if (++digits_ > kMaxChunkSizeDigits) return kBadRequest;
        remaining_ = remaining_ * 16 + static_cast<uint64_t>(h);
        return 0;
      }
      if (digits_ == 0) return kBadRequest;
      // body_ <= maxBody_ always holds, so the subtraction cannot wrap.
      if (remaining_ > maxBody_ - body_) return kContentTooLarge;
      if (isOws(c)) {
        state_ = State::kSizeWs;
      } else if (c == ';') {
        state_ = State::kExt;
      } else if (c == '\r') {
        state_ = State::kSizeLf;
      } else if (c == '\n') {
        break;
      } else {
        return kBadRequest;
      }
      return 0;
    }
    case State::kSizeWs:
      if (c == ';') {
        state_ = State::kExt;
      } else if (!isOws(c)) {
        return kBadRequest;
      }
      return 0;
    case State::kExt:
      if (c == '\r') {
        state_ = State::kSizeLf;
      } else if (c == '\n') {
        break;
      } else if (!isFieldValueByte(c)) {
        return kBadRequest;
      }
      return 0;
    case State::kSizeLf:
      if (c != '\n') return kBadRequest;
      break;
    case State::kDataCr:
      if (c == '\r') {
        state_ = State::kDataLf;
        return 0;
      }
      if (c != '\n') return kBadRequest;
      [[fallthrough]];
    case State::kDataLf:
      if (c != '\n') return kBadRequest;
      state_ = State::kSize;
      digits_ = 0;
      lineBytes_ = 0;
      return 0;
    case State::kTrailer:
      if (c == '\r') {
        state_ = State::kFinalLf;
      } else if (c == '\n') {
        state_ = State::kDone;
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
      } else if (c == '\n') {
        state_ = State::kTrailer;
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
    case State::kData:
    case State::kDone:
    case State::kError:
      return kBadRequest;  // unreachable: feed() handles these
  }
  // The LF ending a chunk-size line: data follows, or the trailer section after the last chunk.
  if (remaining_ == 0) {
    state_ = State::kTrailer;
    lineBytes_ = 0;
  } else {
    state_ = State::kData;
  }
  return 0;
}

}  // namespace hs
