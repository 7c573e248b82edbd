// A response as a handler describes it and a connection sends it: the head, built in `out`, then
// body parts, each bytes in memory or a range of the one file the plan holds. The plan holds a
// reference on that file (from the worker's FileCache) until release(), the one place a response's
// resources are given back. No I/O; a plan never sees a socket.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "HttpResponse.h"

namespace hs {

class FileCache;
struct FileEntry;

constexpr int kMaxRanges = 16;

// A piece of the response: bytes in memory, or (mem == nullptr) a range of the plan's file.
struct BodyPart {
  const char* mem = nullptr;
  uint64_t off = 0;
  uint64_t len = 0;
};

class ResponsePlan {
 public:
  static constexpr uint32_t kOutCap = 8 * 1024;
  // The head, and for multipart/byteranges a part head and a range per range, and the end line.
  static constexpr uint32_t kMaxParts = 2 * kMaxRanges + 3;

  ResponsePlan() = default;
  ~ResponsePlan() { release(); }
  ResponsePlan(const ResponsePlan&) = delete;
  ResponsePlan& operator=(const ResponsePlan&) = delete;

  // Starts a response with `status`: releases whatever the plan held, writes the status line and
  // `commonHead` (the Server and Date lines), and reserves parts[0] for the head. The caller adds
  // its header lines to head(); the connection ends the head (Connection:, blank line).
  FixedWriter& begin(int status, std::string_view commonHead);
  FixedWriter& head() { return head_; }
  size_t headLength() const { return head_.size(); }

  // Appends a body part. Returns false (and adds nothing) when the part list is full.
  bool add(BodyPart p) {
    if (nparts == kMaxParts) return false;
    parts[nparts++] = p;
    return true;
  }
  // A body from memory: Content-Type and Content-Length lines, and the part unless `headOnly`.
  void setBody(std::string_view type, std::string_view body, bool headOnly);
  // Holds `e`, a reference taken from `cache`, for the file parts; release() gives it back.
  void holdFile(FileCache* cache, FileEntry* e) {
    if (file_ != nullptr) releaseFile();
    cache_ = cache;
    file_ = e;
  }
  FileEntry* file() const { return file_; }
  FileCache* fileCache() const { return cache_; }

  // Gives back the file reference and forgets the parts: the response's resources are released.
  void release() {
    if (file_ != nullptr) releaseFile();
    nparts = part = 0;
    partSent = 0;
  }

  // Accounts `n` sent bytes over the parts they covered, from parts[part] on.
  void advance(uint64_t n) {
    while (n > 0 && part < nparts) {
      uint64_t rest = parts[part].len - partSent;
      if (n < rest) {
        partSent += n;
        return;
      }
      n -= rest;
      ++part;
      partSent = 0;
    }
  }

  // Scratch space after the head, for multipart part heads: the upper half of `out`.
  char* scratch() { return out_ + kOutCap / 2; }
  const char* headBytes() const { return out_; }
  // Appends bytes to the head buffer after the head (the small-body join); false if no room.
  bool appendToHead(const char* data, size_t len) {
    if (head_.size() + len > kOutCap / 2) return false;
    head_.add({data, len});
    return true;
  }

  int status = 0;
  uint64_t bodyBytes = 0;   // body bytes the response carries (for the access log)
  bool closeAfter = false;  // the handler asks for the connection to close after this response
  BodyPart parts[kMaxParts];
  uint32_t nparts = 0;
  uint32_t part = 0;      // first part not completely sent
  uint64_t partSent = 0;  // bytes of parts[part] already sent
  std::string generated;  // larger generated bodies (listings, the status page); capacity reused
  // The upstream attempts behind the response, for the access log ($upstream_addr, ...): a
  // gateway records each (two when it retried). Cleared when a request starts, not by begin():
  // the attempts come before the head.
  struct UpstreamAttempt {
    const std::string* addr = nullptr;
    int status = 0;
    uint64_t timeUs = 0;
  };
  UpstreamAttempt upstream[2];
  uint32_t upstreamTries = 0;
  void addUpstreamAttempt(const std::string* addr, int st, uint64_t timeUs) {
    if (upstreamTries < 2) upstream[upstreamTries++] = {addr, st, timeUs};
  }

 private:
  void releaseFile();

  char out_[kOutCap];
  FixedWriter head_{out_, kOutCap / 2};
  FileCache* cache_ = nullptr;
  FileEntry* file_ = nullptr;
};

}  // namespace hs
