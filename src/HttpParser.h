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
  // errorStatus() in {400, 414, 417, 431, 505}. Every line must end in CRLF. Leading empty lines
  // before the request line are skipped (RFC 9112 2.2) and count in consumed(). Pass the same *req
  // on every call for one request: the first call clears it. Unknown methods are not errors (method
  // kUnknown; 501 is the caller's).
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

}  // namespace hs
