// Resumable parser of the CGI response head an application writes at the start of its output
// (RFC 3875 6): header fields up to an empty line, LF or CRLF line ends. Pure code: the head is
// copied into a fixed buffer inside the object, so the results view that buffer, never the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hs {

// Status, Content-Type and Location are taken out; every other field is kept, in order, for the
// gateway to pass through (repeated ones such as Set-Cookie included). Location "/path" without a
// Status field is a local redirect; any other Location (absolute URI, or "/path" with a Status) is
// a client redirect, 302 unless Status says otherwise. Without Location the status defaults to 200.
class CgiResponseHead {
 public:
  static constexpr size_t kMaxHead = 8192;  // bytes of head, line ends included
  static constexpr size_t kMaxFields = 64;  // fields besides Status, Content-Type and Location

  enum class Status : uint8_t { kNeedMore, kDone, kError };
  enum class Error : uint8_t {
    kNone,
    kTooLarge,       // head longer than kMaxHead
    kTooManyFields,  // more than kMaxFields other fields
    kBadLine,        // no colon, empty or non-token name, control character, bare CR, folding
    kBadStatus,      // Status is not "3DIGIT [SP reason]" with a code 100..599
    kDuplicate,      // Status, Content-Type or Location given twice
    kBadLocation,    // Location neither "/path" nor an absolute URI
    kNoFields,       // none of Status, Content-Type and Location
    kTruncated,      // output ended inside the head
  };
  enum class Redirect : uint8_t { kNone, kLocal, kClient };
  struct Field {
    std::string_view name;
    std::string_view value;
  };

  CgiResponseHead() = default;
  CgiResponseHead(const CgiResponseHead&) = delete;
  CgiResponseHead& operator=(const CgiResponseHead&) = delete;
  void reset();

  // Consumes a prefix of the new bytes (each byte is passed once) and sets *used to its length.
  // kDone: the head ended; the body starts at data + *used. kNeedMore: all consumed.
  // kError: error() says why (the gateway answers 502); later calls return kError.
  Status feed(const char* data, size_t len, size_t* used);
  Status finish();  // at end of output: kDone if the head was complete, else kError

  Error error() const { return error_; }
  int status() const { return status_; }
  std::string_view reason() const { return reason_; }  // empty unless Status gave one
  std::string_view contentType() const { return contentType_; }
  std::string_view location() const { return location_; }
  Redirect redirect() const { return redirect_; }
  size_t fieldCount() const { return fieldCount_; }
  const Field& field(size_t i) const { return fields_[i]; }

 private:
  Status fail(Error e);
  Status lineDone();
  Error parseField(std::string_view name, std::string_view value);
  Error parseStatus(std::string_view value);
  Status headDone();

  Status state_ = Status::kNeedMore;
  Error error_ = Error::kNone;
  int status_ = 0;
  Redirect redirect_ = Redirect::kNone;
  bool hasStatus_ = false;
  bool hasContentType_ = false;
  bool hasLocation_ = false;
  size_t size_ = 0;
  size_t lineStart_ = 0;
  size_t fieldCount_ = 0;
  std::string_view reason_;
  std::string_view contentType_;
  std::string_view location_;
  Field fields_[kMaxFields];
  char head_[kMaxHead];
};

}  // namespace hs
