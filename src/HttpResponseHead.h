// Resumable parser of the response head an HTTP/1.x upstream sends (RFC 9112 4-6), for the
// reverse proxy. An upstream response is untrusted input: the status line and every field are
// validated, the head is bounded, and the body's framing is decided exactly as RFC 9112 6.3 says,
// with every ambiguous case (the response-smuggling class) an error. Interim 1xx heads are
// consumed. Pure code: the head is copied into a fixed buffer inside the object, so the results
// view that buffer, never the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hs {

class HttpResponseHead {
 public:
  static constexpr size_t kMaxHead = 8192;   // bytes of one head, line ends included
  static constexpr size_t kMaxFields = 100;  // fields of one head
  static constexpr int kMaxInterim = 8;      // 1xx heads before the final one

  enum class Status : uint8_t { kNeedMore, kDone, kError };
  enum class Error : uint8_t {
    kNone,
    kTooLarge,           // a head longer than kMaxHead
    kTooManyFields,      // more than kMaxFields fields
    kBadStatusLine,      // not "HTTP/1.x 3DIGIT [SP reason]": HTTP/0.9-style bytes, a bad code
    kBadVersion,         // HTTP/ but not 1.0 or 1.1
    kBadField,           // no colon, non-token name, space before the colon, control byte, folding
    kBadLength,          // a Content-Length that is not 1*DIGIT (or a list of them)
    kConflictingLength,  // Content-Length values that differ
    kLengthAndEncoding,  // both Content-Length and Transfer-Encoding
    kBadEncoding,        // Transfer-Encoding other than one final chunked, or in an HTTP/1.0 head
    kUnaskedSwitch,      // 101 to a request that asked for no upgrade
    kTooManyInterim,     // more than kMaxInterim 1xx heads
    kTruncated,          // the stream ended inside a head
  };
  // How the body that follows the head ends.
  enum class Framing : uint8_t {
    kNone,     // no body: HEAD, 1xx, 204, 304 (and a 101's tunnel)
    kLength,   // contentLength() bytes
    kChunked,  // chunked transfer coding
    kClose,    // the upstream closes the connection
  };
  struct Field {
    std::string_view name;
    std::string_view value;
    bool hopByHop;  // Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade,
                    // Proxy-Connection, or a name the head's Connection lists: not forwarded
  };

  HttpResponseHead() = default;
  HttpResponseHead(const HttpResponseHead&) = delete;
  HttpResponseHead& operator=(const HttpResponseHead&) = delete;

  // Starts over for the response to a new request: `headRequest` (a HEAD: bodiless whatever the
  // head says), `upgradeAsked` (the request carried Upgrade: only then may the answer be 101).
  void reset(bool headRequest, bool upgradeAsked);

  // Consumes a prefix of the new bytes (each byte is passed once) and sets *used to its length.
  // kDone: the final head ended; its body starts at data + *used. kNeedMore: all consumed.
  // kError: error() says why (the proxy answers 502); later calls return kError.
  Status feed(const char* data, size_t len, size_t* used);
  // At end of stream: kDone if the final head was complete, else kError (kTruncated).
  Status finish();

  Error error() const { return error_; }
  int status() const { return status_; }
  int versionMinor() const { return minor_; }
  Framing framing() const { return framing_; }
  bool hasLength() const { return hasLength_; }
  uint64_t contentLength() const { return length_; }  // with kLength (or a bodiless hasLength)
  // The upstream allows another request on this connection after the body (HTTP/1.1 without
  // "close", or HTTP/1.0 with "keep-alive"; never for a close-delimited body).
  bool keepAlive() const { return keepAlive_; }
  int interim() const { return interim_; }  // 1xx heads consumed before this one
  size_t fieldCount() const { return fieldCount_; }
  const Field& field(size_t i) const { return fields_[i]; }

 private:
  Status fail(Error e);
  Status lineDone();
  Error parseStatusLine(std::string_view line);
  Error parseField(std::string_view line);
  Error noteLength(std::string_view value);
  Error noteEncoding(std::string_view value);
  Status headDone();
  Status decideFraming();
  void markHopByHop();
  void startHead();

  Status state_ = Status::kNeedMore;
  Error error_ = Error::kNone;
  bool headRequest_ = false;
  bool upgradeAsked_ = false;
  bool statusSeen_ = false;
  bool hasLength_ = false;
  bool chunked_ = false;
  bool hasEncoding_ = false;
  bool connClose_ = false;
  bool connKeepAlive_ = false;
  bool keepAlive_ = false;
  Framing framing_ = Framing::kNone;
  int status_ = 0;
  int minor_ = 1;
  int interim_ = 0;
  uint64_t length_ = 0;
  size_t size_ = 0;
  size_t fieldCount_ = 0;
  Field fields_[kMaxFields];
  char head_[kMaxHead];
};

}  // namespace hs
