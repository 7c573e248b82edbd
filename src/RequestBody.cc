// The memory buffer holds the whole body while it fits; once it overflows, the temp file holds the
// body and the buffer becomes its write-behind buffer, so a body sent in small pieces costs one
// write() per buffer-full, not one per piece.
#include "RequestBody.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "Log.h"

namespace hs {

namespace {
constexpr int kBadRequest = 400;
constexpr int kContentTooLarge = 413;
constexpr int kServerError = 500;
}  // namespace

void RequestBody::begin(bool chunked, uint64_t contentLength, uint64_t maxBody, size_t memLimit,
                        const char* tempDir) {
  clear();
  if (memLimit == 0) memLimit = 1;
  if (memCap_ != memLimit) {  // only when the configuration changed: not per request
    mem_ = std::make_unique<char[]>(memLimit);
    memCap_ = memLimit;
  }
  chunked_ = chunked;
  left_ = chunked ? 0 : contentLength;
  tempDir_ = tempDir;
  decoder_ = ChunkedDecoder(maxBody);
  status_ = Status::kNeedMore;
  error_ = 0;
  if (!chunked && contentLength > maxBody) fail(kContentTooLarge);
}

void RequestBody::clear() {
  file_.reset();
  memUsed_ = 0;
  size_ = 0;
  left_ = 0;
  status_ = Status::kNeedMore;
  error_ = 0;
}

RequestBody::Status RequestBody::fail(int status) {
  error_ = status;
  status_ = Status::kError;
  return status_;
}

RequestBody::Status RequestBody::finish() {
  if (inFile() && !flushMemory()) return fail(kServerError);
  status_ = Status::kDone;
  return status_;
}

RequestBody::Status RequestBody::feed(const char* data, size_t len, size_t* used) {
  *used = 0;
  if (status_ != Status::kNeedMore) return status_;
  if (!chunked_) {
    const size_t take = static_cast<size_t>(std::min<uint64_t>(len, left_));
    *used = take;
    if (!store(data, take)) return fail(kServerError);
    left_ -= take;
    return left_ == 0 ? finish() : Status::kNeedMore;
  }
  size_t pos = 0;
  while (pos < len) {
    size_t n = 0;
    std::string_view chunk;
    ChunkedDecoder::Status st = decoder_.next(data + pos, len - pos, &n, &chunk);
    pos += n;
    *used = pos;
    if (!chunk.empty() && !store(chunk.data(), chunk.size())) return fail(kServerError);
    if (st == ChunkedDecoder::Status::kDone) return finish();
    if (st == ChunkedDecoder::Status::kError) {
      return fail(decoder_.errorStatus() == kContentTooLarge ? kContentTooLarge : kBadRequest);
    }
  }
  return Status::kNeedMore;
}

bool RequestBody::store(const char* data, size_t len) {
  size_ += len;
  while (len > 0) {
    if (memUsed_ == memCap_) {
      if (!inFile() && !openTempFile()) return false;
      if (!flushMemory()) return false;
    }
    const size_t n = std::min(len, memCap_ - memUsed_);
    std::memcpy(mem_.get() + memUsed_, data, n);
    memUsed_ += n;
    data += n;
    len -= n;
  }
  return true;
}

// O_TMPFILE: the file never has a name, so nothing is left behind by a crash. A file system
// without it gets a named file, unlinked at once.
bool RequestBody::openTempFile() {
  int fd = ::open(tempDir_, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    char path[4096];
    std::snprintf(path, sizeof path, "%s/body.XXXXXX", tempDir_);
    fd = ::mkostemp(path, O_CLOEXEC);
    if (fd >= 0) ::unlink(path);
  }
  if (fd < 0) {
    int err = errno;
    LOG_SYSERR(err, "open() of a request body file in \"%s\" failed", tempDir_);
    return false;
  }
  file_.reset(fd);
  return true;
}

bool RequestBody::flushMemory() {
  size_t done = 0;
  while (done < memUsed_) {
    ssize_t n = ::write(file_.get(), mem_.get() + done, memUsed_ - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : ENOSPC;
      LOG_SYSERR(err, "write() of a request body file in \"%s\" failed", tempDir_);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  memUsed_ = 0;
  return true;
}

ssize_t RequestBody::read(uint64_t offset, char* buf, size_t len) const {
  if (offset >= size_) return 0;
  const size_t n = static_cast<size_t>(std::min<uint64_t>(len, size_ - offset));
  if (!inFile()) {
    std::memcpy(buf, mem_.get() + offset, n);
    return static_cast<ssize_t>(n);
  }
  for (;;) {
    ssize_t r = ::pread(file_.get(), buf, n, static_cast<off_t>(offset));
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
}

}  // namespace hs
