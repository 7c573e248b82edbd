// Incremental decoder of a chunked request body (RFC 9112 7.1), for discarding it or for taking
// its data out (next()).
// Pure code, like HttpParser: any split of the input gives the same result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hs {

// Chunk extensions (RFC 9112 7.1.1 grammar) and trailer fields are validated, then skipped; every
// line must end in CRLF. Bounds: 16 hex digits, 4096 bytes per size line (extensions included),
// 8192 bytes of trailer section.
class ChunkedDecoder {
 public:
  enum class Status : uint8_t { kDone, kNeedMore, kError };

  explicit ChunkedDecoder(uint64_t maxBody) : maxBody_(maxBody) {}
  void reset();

  // Consumes a prefix of [data, data+len) (new bytes only: unlike HttpParser, each byte is passed
  // once). Sets *used to the bytes consumed. kDone once the last chunk and trailers are read;
  // kError with errorStatus() 400 (malformed) or 413 (body larger than maxBody).
  Status feed(const char* data, size_t len, size_t* used);
  // Like feed(), but stops after each run of chunk data: *chunk is then that run (inside the
  // consumed prefix), else empty. Call again while input is left and the status is kNeedMore.
  Status next(const char* data, size_t len, size_t* used, std::string_view* chunk);

  uint64_t bodyBytes() const { return body_; }
  int errorStatus() const { return error_; }

 private:
  enum class State : uint8_t;  // defined in ChunkedDecoder.cc

  Status run(const char* data, size_t len, size_t* used, std::string_view* chunk);
  Status fail(uint16_t status);
  uint16_t step(unsigned char c);
  uint16_t stepSize(unsigned char c);
  uint16_t stepExtension(unsigned char c);
  uint16_t stepTrailer(unsigned char c);

  uint64_t maxBody_;
  uint64_t body_ = 0;       // data bytes seen so far
  uint64_t remaining_ = 0;  // data bytes left in the current chunk (or the chunk size being read)
  uint32_t lineBytes_ = 0;  // bytes of the current size line, or of the whole trailer section
  uint16_t error_ = 0;
  State state_{};       // zero is the initial state
  uint8_t digits_ = 0;  // hex digits of the chunk size read so far
};

}  // namespace hs
