// The FastCGI record layer (FastCGI 1.0, responder role): an encoder that writes a request's
// records into a caller-provided buffer and a resumable decoder of the application's reply. Pure
// code: no syscalls, no allocation; the application's bytes are untrusted and checked as such.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hs {

namespace fcgi {
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderSize = 8;
constexpr size_t kMaxContent = 65535;
enum class Type : uint8_t {
  kBeginRequest = 1,
  kAbortRequest = 2,
  kEndRequest = 3,
  kParams = 4,
  kStdin = 5,
  kStdout = 6,
  kStderr = 7,
};
enum class ProtocolStatus : uint8_t { kRequestComplete, kCantMpxConn, kOverloaded, kUnknownRole };
}  // namespace fcgi

// Appends records to [buf, buf+capacity). Every call either writes all it was asked to or returns
// false and leaves the buffer as it was; the caller then seal()s, sends data()/size(), clear()s and
// retries. Content is padded to a multiple of 8 bytes; room for the padding of the open PARAMS
// record is always kept, so seal() cannot fail. maxContent (1..65535) caps one record's content.
class FastCgiEncoder {
 public:
  FastCgiEncoder(char* buf, size_t capacity, uint16_t requestId,
                 size_t maxContent = fcgi::kMaxContent);

  bool beginRequest(bool keepConn);  // role RESPONDER
  // One name-value pair into the PARAMS stream; a pair may span records. Lengths over 2^31-1 fail.
  bool param(std::string_view name, std::string_view value);
  bool endParams();  // closes the open PARAMS record and writes the empty one that ends the stream
  bool stdinData(std::string_view data);  // STDIN records; an empty view writes nothing
  bool endStdin();                        // the empty STDIN record
  bool abortRequest();

  void seal();  // closes an open PARAMS record, so that data()/size() hold whole records
  const char* data() const { return buf_; }
  size_t size() const { return size_; }
  void clear();  // seals, then drops the written bytes

 private:
  struct Mark {
    size_t size;
    size_t open;
  };
  Mark mark() const { return {size_, open_}; }
  bool rollback(Mark m);
  bool writeRecord(fcgi::Type type, std::string_view content);
  bool appendStream(fcgi::Type type, std::string_view bytes);
  bool appendLength(fcgi::Type type, size_t length);
  bool openRecord();
  void closeRecord();

  char* buf_;
  size_t capacity_;
  size_t size_ = 0;
  size_t open_ = kNone;  // offset of the open record's header, or kNone
  size_t maxContent_;
  uint16_t requestId_;
  static constexpr size_t kNone = static_cast<size_t>(-1);
};

// Decodes the records an application sends for one request. feed() consumes a prefix of the new
// bytes (each byte is passed once) and stops at each event:
//   kStdout/kStderr: *payload views a piece of that stream's content inside [data, data+len);
//   kEnd: END_REQUEST read (appStatus(), protocolStatus()); *used stops right after it;
//   kNeedMore: all bytes consumed; kError: error() says why, nothing more is accepted.
// finish() is called at end of input: kEnd if the request ended, else kError kTruncated.
class FastCgiDecoder {
 public:
  enum class Event : uint8_t { kNeedMore, kStdout, kStderr, kEnd, kError };
  enum class Error : uint8_t {
    kNone,
    kVersion,         // version byte is not 1
    kType,            // a record type the application may not send here
    kRequestId,       // a record for another request (management records included)
    kLength,          // END_REQUEST content not 8 bytes, or stream data after its empty record
    kTooLarge,        // content longer than maxContent
    kProtocolStatus,  // END_REQUEST protocolStatus out of range
    kTruncated,       // input ended before END_REQUEST
    kAfterEnd,        // bytes fed after END_REQUEST
  };

  explicit FastCgiDecoder(uint16_t requestId, size_t maxContent = fcgi::kMaxContent)
      : requestId_(requestId), maxContent_(maxContent) {}
  void reset(uint16_t requestId);

  Event feed(const char* data, size_t len, size_t* used, std::string_view* payload);
  Event finish();

  Error error() const { return error_; }
  uint32_t appStatus() const { return appStatus_; }
  fcgi::ProtocolStatus protocolStatus() const { return protocolStatus_; }
  bool stdoutClosed() const { return stdoutClosed_; }

 private:
  enum class State : uint8_t { kHeader, kContent, kPadding, kEnd, kError };

  Event fail(Error e);
  Event headerDone();
  Event endRequestDone();

  uint16_t requestId_;
  size_t maxContent_;
  State state_ = State::kHeader;
  Error error_ = Error::kNone;
  fcgi::Type type_ = fcgi::Type::kStdout;
  uint8_t have_ = 0;  // bytes of header_ (or of the END_REQUEST body) collected
  uint8_t padding_ = 0;
  uint16_t remaining_ = 0;  // content bytes left in the current record
  bool stdoutClosed_ = false;
  bool stderrClosed_ = false;
  uint32_t appStatus_ = 0;
  fcgi::ProtocolStatus protocolStatus_ = fcgi::ProtocolStatus::kRequestComplete;
  unsigned char header_[fcgi::kHeaderSize] = {};
};

}  // namespace hs
