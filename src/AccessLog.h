// Access log in nginx's `combined` format, shared by every worker through one O_APPEND file.
// Lines are buffered per worker and written when the buffer fills, at least once a second
// (flushIfDue from the reactor), and at exit. Owns its fd.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "HttpRequest.h"
#include "UniqueFd.h"

namespace hs {

struct AccessRecord {
  const sockaddr_in6* peer;      // sockaddr_in or sockaddr_in6
  std::string_view requestLine;  // "GET / HTTP/1.1" as received (escaped on output; "" logs -)
  int status;
  uint64_t bytes;  // body bytes sent
  std::string_view referer, userAgent;
  std::string_view authorization = {};  // its Basic user name is logged as $remote_user

  // The record of one request from its bytes as received, starting at its first byte (only part
  // of a head that failed to parse), and what the parser made of them. The request line is what
  // nginx logs: from the first byte after any leading empty lines to the first CR or LF.
  static AccessRecord fromRequest(const sockaddr_in6* peer, std::string_view received,
                                  const HttpRequest& req, int status, uint64_t bytes);
};

class FixedWriter;
class LogFormat;
struct LogFields;

// The user name of an "Authorization: Basic" value, decoded into out (at most cap bytes), as nginx
// fills $remote_user. Returns its length; 0 for no user.
size_t basicAuthUser(std::string_view authorization, char* out, size_t cap);

// Writes `s` with '"', '\\' and bytes outside printable ASCII escaped as \xHH (as nginx does), so a
// hostile request line cannot forge log lines or break a parser. Each byte is written whole or not
// at all, so what fits before an overflow is a clean prefix.
void appendLogEscaped(FixedWriter& w, std::string_view s);

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
  // One line in a log_format of the configuration.
  void record(const LogFormat& format, const LogFields& fields);
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
