// A request body received in full before its handler runs (the gateway buffers, as nginx does, so
// that a slow uploader never holds an application process). Decodes the Content-Length or chunked
// framing and keeps the data in memory up to client_body_buffer_size, beyond it in an unlinked
// temp file in client_body_temp_path. Objects live in the worker's free list and keep their memory
// buffer between requests (no allocation per request); each owns its temp file until clear().
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ChunkedDecoder.h"
#include "UniqueFd.h"

namespace hs {

class RequestBody {
 public:
  enum class Status : uint8_t { kDone, kNeedMore, kError };

  RequestBody() = default;
  RequestBody(const RequestBody&) = delete;
  RequestBody& operator=(const RequestBody&) = delete;

  // Starts a body: chunked, or `contentLength` bytes. More than maxBody data bytes is a 413. Data
  // beyond memLimit bytes goes to an unlinked file in tempDir (borrowed: must outlive the body).
  void begin(bool chunked, uint64_t contentLength, uint64_t maxBody, size_t memLimit,
             const char* tempDir);
  // Consumes a prefix of the new bytes [data, data+len) and sets *used. kDone once the body is
  // complete (bytes after it belong to the next request); kError with errorStatus(): 400 for bad
  // chunked framing, 413 for a body over maxBody, 500 when the temp file failed (logged).
  Status feed(const char* data, size_t len, size_t* used);
  int errorStatus() const { return error_; }

  uint64_t size() const { return size_; }  // data bytes received
  bool inFile() const { return file_.get() >= 0; }
  // Copies up to `len` bytes of the complete body from `offset` into buf. Returns the count (0 at
  // the end), or -1 with errno set when the temp file cannot be read.
  ssize_t read(uint64_t offset, char* buf, size_t len) const;
  // Drops the data and closes the temp file.
  void clear();

 private:
  Status finish();
  Status fail(int status);
  bool store(const char* data, size_t len);
  bool openTempFile();
  bool flushMemory();

  std::unique_ptr<char[]> mem_;  // sized once to memLimit: the steady state reuses it
  size_t memCap_ = 0;
  size_t memUsed_ = 0;  // bytes in mem_ (the whole body, or the tail not yet written to file_)
  uint64_t size_ = 0;
  uint64_t left_ = 0;  // Content-Length bytes still to come
  bool chunked_ = false;
  Status status_ = Status::kNeedMore;
  int error_ = 0;
  const char* tempDir_ = nullptr;
  ChunkedDecoder decoder_{0};
  UniqueFd file_;
};

}  // namespace hs
