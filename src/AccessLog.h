// Access log in the Combined Log Format, shared by every worker through one O_APPEND file.
// Lines are buffered per worker and written when the buffer fills, at least once a second
// (flushIfDue from the reactor), and at exit. Owns its fd.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "UniqueFd.h"

namespace hs {

struct AccessRecord {
  const sockaddr_in6* peer;      // sockaddr_in or sockaddr_in6
  std::string_view requestLine;  // "GET / HTTP/1.1" as received (escaped on output)
  int status;
  uint64_t bytes;  // body bytes sent
  std::string_view referer, userAgent;
};

class AccessLog {
 public:
  static constexpr size_t kBufferSize = 64 * 1024;

  AccessLog() = default;
  ~AccessLog() { flush(); }
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Opens PATH for appending; "" or "off" disables logging. Returns false if it cannot be opened.
  bool open(const std::string& path);
  bool reopen();
  bool enabled() const { return fd_.valid(); }

  void record(const AccessRecord& r, time_t now);
  void flush();
  void flushIfDue(time_t now) {
    if (len_ > 0 && now != lastFlush_) flush();
  }

  // Formats one line (without buffering) into out; returns its length. Exposed for tests.
  static size_t format(const AccessRecord& r, time_t now, char* out, size_t cap);

 private:
  UniqueFd fd_;
  std::string path_;
  std::unique_ptr<char[]> buf_;
  size_t len_ = 0;
  time_t lastFlush_ = 0;
};

}  // namespace hs
