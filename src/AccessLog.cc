#include "AccessLog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "HttpLexical.h"
#include "HttpResponse.h"
#include "Socket.h"

namespace hs {
namespace {

// Writes `s` with '"', '\\' and bytes outside printable ASCII escaped as \xHH (as nginx does), so a
// hostile request line cannot forge log lines or break a parser.
void appendEscaped(HeadWriter& w, std::string_view s) {
  for (char ch : s) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u >= 0x7F || u == '"' || u == '\\') {
      char esc[4] = {'\\', 'x', kHexDigitsUpper[u >> 4], kHexDigitsUpper[u & 15]};
      w.add({esc, 4});
    } else {
      w.add({&ch, 1});
    }
  }
}

void appendTime(HeadWriter& w, time_t now) {
  struct tm tm;
  ::localtime_r(&now, &tm);
  char buf[40];
  size_t n = ::strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S %z]", &tm);
  w.add({buf, n});
}

}  // namespace

bool AccessLog::open(const std::string& path) {
  flush();
  path_ = path;
  if (path.empty() || path == "off") {
    fd_.reset();
    return true;
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) return false;
  fd_ = std::move(fd);
  if (!buf_) buf_.reset(new char[kBufferSize]);
  return true;
}

bool AccessLog::reopen() {
  if (!fd_) return true;
  return open(path_);
}

size_t AccessLog::format(const AccessRecord& r, time_t now, char* out, size_t cap) {
  HeadWriter w(out, cap);
  sockaddr_storage ss{};
  // Copy only what the family says is there: the peer may be a (shorter) sockaddr_in.
  std::memcpy(&ss, r.peer, r.peer->sin6_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  char addr[INET6_ADDRSTRLEN];
  if (r.peer->sin6_family == 0) {
    std::strcpy(addr, "-");
  } else {
    formatAddress(ss, addr, sizeof addr);
  }
  w.add(addr).add(" - - ");
  appendTime(w, now);
  w.add(" \"");
  appendEscaped(w, r.requestLine.substr(0, 2048));
  w.add("\" ").addNum(static_cast<uint64_t>(r.status)).add(" ");
  if (r.bytes == 0) {
    w.add("-");
  } else {
    w.addNum(r.bytes);
  }
  w.add(" \"");
  appendEscaped(w, r.referer.empty() ? "-" : r.referer.substr(0, 1024));
  w.add("\" \"");
  appendEscaped(w, r.userAgent.empty() ? "-" : r.userAgent.substr(0, 1024));
  w.add("\"\n");
  if (w.overflowed()) return 0;
  return w.size();
}

void AccessLog::record(const AccessRecord& r, time_t now) {
  if (!fd_) return;
  // The longest line: every byte of a 2 KiB request line and two 1 KiB headers escaped (4x),
  // plus the fixed fields. Flush first unless that much room is left, so no line is dropped.
  constexpr size_t kLongestLine = 4 * (2048 + 1024 + 1024) + 256;
  if (kBufferSize - len_ < kLongestLine) flush();
  len_ += format(r, now, buf_.get() + len_, kBufferSize - len_);
}

void AccessLog::flush() {
  if (!fd_ || len_ == 0) return;
  // One write of whole lines: O_APPEND keeps lines from different workers from interleaving.
  ssize_t ignored = ::write(fd_.get(), buf_.get(), len_);
  (void)ignored;
  len_ = 0;
  lastFlush_ = ::time(nullptr);
}

}  // namespace hs
