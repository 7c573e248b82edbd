// Incremental, allocation-free HTTP/1.x request-head parser (request line + header fields).
// Pure code: no fds, clock or logging. Resumable: feed it any split of the input and it returns the
// same result as when fed all at once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "HttpRequest.h"

namespace hs {

struct ParserLimits {
  uint32_t maxRequestLine = 8 * 1024;   // over it: 414
  uint32_t maxHeaderBytes = 16 * 1024;  // request line + fields over it: 431
  uint32_t maxHeaders = 100;            // more fields: 431
};

enum class ParseStatus : uint8_t { kDone, kNeedMore, kError };

class HttpParser {
 public:
  explicit HttpParser(ParserLimits limits = {}) : limits_(limits) {}

  // Starts a new request (after kDone or kError).
  void reset();

  // `data` points at the first byte of the request (the same byte on every call for one request,
  // though the buffer may move between calls: only offsets are kept) and `len` is everything
  // received so far (never less than on the previous call). Parsing resumes where the previous call
  // stopped. Returns kDone once the head is complete (consumed() is then its length including the
  // final CRLF, and *req is filled), kNeedMore when more input is needed, or kError with
  // errorStatus() in {400, 414, 431, 505}. Leading empty lines before the request line are skipped
  // (RFC 9112 2.2) and count in consumed(). Pass the same *req on every call for one request: the
  // first call clears it. Unknown methods are not errors (method kUnknown; 501 is the caller's).
  ParseStatus parse(const char* data, size_t len, HttpRequest* req);

  size_t consumed() const { return consumed_; }
  int errorStatus() const { return error_; }

 private:
  enum class State : uint8_t;  // defined in HttpParser.cc

  ParseStatus fail(uint16_t status);
  ParseStatus done(HttpRequest* req);
  uint16_t endField(const char* data, HttpRequest* req);
  uint16_t finish(HttpRequest* req) const;

  ParserLimits limits_;
  uint32_t pos_ = 0;       // next byte to look at
  uint32_t consumed_ = 0;  // head length once kDone
  uint16_t error_ = 0;
  State state_{};        // zero is the initial state
  uint32_t mark_ = 0;    // start of the token being scanned
  uint32_t mark2_ = 0;   // start of the current field value (after leading OWS)
  uint8_t current_ = 0;  // KnownHeader index of the field being parsed, or kCount
  uint32_t tmp_ = 0;     // end of the current value's last non-whitespace byte
  uint32_t seen_ = 0;    // bit i set: KnownHeader i occurred at least once
  uint8_t flags_ = 0;    // derived-field bits collected over all fields (see HttpParser.cc)
};

// Incremental decoder of a chunked request body (RFC 9112 7.1), for reading and discarding it.
// Chunk extensions are skipped; trailer fields are validated and skipped. Bounds: 16 hex digits,
// 4096 bytes per size line (extensions included), 8192 bytes of trailer section.
class ChunkedDecoder {
 public:
  enum class Status : uint8_t { kDone, kNeedMore, kError };

  explicit ChunkedDecoder(uint64_t maxBody) : maxBody_(maxBody) {}
  void reset();

  // Consumes a prefix of [data, data+len) (new bytes only: unlike HttpParser, each byte is passed
  // once). Sets *used to the bytes consumed. kDone once the last chunk and trailers are read;
  // kError with errorStatus() 400 (malformed) or 413 (body larger than maxBody).
  Status feed(const char* data, size_t len, size_t* used);

  uint64_t bodyBytes() const { return body_; }
  int errorStatus() const { return error_; }

 private:
  enum class State : uint8_t;  // defined in HttpParser.cc

  Status fail(uint16_t status);
  uint16_t step(unsigned char c);

  uint64_t maxBody_;
  uint64_t body_ = 0;       // data bytes seen so far
  uint64_t remaining_ = 0;  // data bytes left in the current chunk (or the chunk size being read)
  uint32_t lineBytes_ = 0;  // bytes of the current size line, or of the whole trailer section
  uint16_t error_ = 0;
  State state_{};       // zero is the initial state
  uint8_t digits_ = 0;  // hex digits of the chunk size read so far
};

}  // namespace hs
