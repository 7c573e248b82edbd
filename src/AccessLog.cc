#include "AccessLog.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "HttpLexical.h"
#include "HttpResponse.h"
#include "LogFormat.h"
#include "Socket.h"

namespace hs {

void appendLogEscaped(FixedWriter& w, std::string_view s) {
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

namespace {

constexpr size_t kMaxRequestLine = 2048;  // longer request lines are cut in the log
constexpr size_t kMaxField = 1024;        // so are the user name, Referer and User-Agent

}  // namespace

// The user name of an "Authorization: Basic" value, decoded into out (at most cap bytes), as nginx
// fills $remote_user: the scheme is case-insensitive, the credentials are base64 up to the first
// '=' (a stray byte or an impossible length refuses them all), and the user is everything before
// the first ':', which must be present. Returns its length; 0 for no user.
size_t basicAuthUser(std::string_view authorization, char* out, size_t cap) {
  constexpr std::string_view kScheme = "Basic ";
  if (!startsWithIgnoreCase(authorization, kScheme)) return 0;
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  encoded = encoded.substr(0, encoded.find('='));
  for (char ch : encoded) {
    if (base64Value(static_cast<unsigned char>(ch)) < 0) return 0;
  }
  if (encoded.empty() || encoded.size() % 4 == 1) return 0;
  uint32_t bits = 0;
  int nbits = 0;
  size_t n = 0;
  for (char ch : encoded) {
    bits = (bits << 6) | static_cast<uint32_t>(base64Value(static_cast<unsigned char>(ch)));
    nbits += 6;
    if (nbits < 8) continue;
    nbits -= 8;
    const auto byte = static_cast<char>((bits >> nbits) & 0xFF);
    if (byte == ':') return n;
    if (n == cap) return cap;  // long enough to log; the rest would be cut anyway
    out[n++] = byte;
  }
  return 0;  // no ':': not user:password
}

namespace {

void appendTime(FixedWriter& w, time_t now) {
  struct tm tm;
  ::localtime_r(&now, &tm);
  char buf[40];
  size_t n = ::strftime(buf, sizeof buf, "[%d/%b/%Y:%H:%M:%S %z]", &tm);
  w.add({buf, n});
}

}  // namespace

AccessRecord AccessRecord::fromRequest(const sockaddr_in6* peer, std::string_view received,
                                       const HttpRequest& req, int status, uint64_t bytes) {
  // The parser skips the same empty lines; what follows is the line whether or not it parsed.
  const size_t start = std::min(received.find_first_not_of("\r\n"), received.size());
  const std::string_view line =
      received.substr(start, received.find_first_of("\r\n", start) - start);
  // Fields the parser finished before any error; spans outside `received` are not this request's.
  const auto field = [&](KnownHeader h) -> std::string_view {
    const Span s = req.header(h);
    return s.off + static_cast<size_t>(s.len) <= received.size() ? s.in(received.data()) : "";
  };
  return {peer,
          line,
          status,
          bytes,
          field(KnownHeader::kReferer),
          field(KnownHeader::kUserAgent),
          field(KnownHeader::kAuthorization)};
}

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
  FixedWriter w(out, cap);
  sockaddr_storage ss{};
  // Copy only what the family says is there: the peer may be a (shorter) sockaddr_in.
  std::memcpy(&ss, r.peer,
              r.peer->sin6_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  char addr[INET6_ADDRSTRLEN];
  if (r.peer->sin6_family == 0) {
    std::strcpy(addr, "-");
  } else {
    formatAddress(ss, addr, sizeof addr);
  }
  char user[kMaxField];
  const size_t userLen = basicAuthUser(r.authorization, user, sizeof user);
  w.add(addr).add(" - ");
  appendLogEscaped(w, userLen > 0 ? std::string_view(user, userLen) : "-");
  w.add(" ");
  appendTime(w, now);
  w.add(" \"");
  appendLogEscaped(w, r.requestLine.empty() ? "-" : r.requestLine.substr(0, kMaxRequestLine));
  w.add("\" ").addNum(static_cast<uint64_t>(r.status)).add(" ").addNum(r.bytes).add(" \"");
  appendLogEscaped(w, r.referer.empty() ? "-" : r.referer.substr(0, kMaxField));
  w.add("\" \"");
  appendLogEscaped(w, r.userAgent.empty() ? "-" : r.userAgent.substr(0, kMaxField));
  w.add("\"\n");
  if (w.overflowed()) return 0;
  return w.size();
}

void AccessLog::record(const AccessRecord& r, time_t now) {
  if (!fd_) return;
  // The longest line: every byte of the request line, the user and two headers escaped (4x),
  // plus the fixed fields. Flush first unless that much room is left, so no line is dropped.
  constexpr size_t kLongestLine = 4 * (kMaxRequestLine + 3 * kMaxField) + 256;
  if (kBufferSize - len_ < kLongestLine) flush();
  len_ += format(r, now, buf_.get() + len_, kBufferSize - len_);
}

void AccessLog::record(const LogFormat& format, const LogFields& fields) {
  if (!fd_) return;
  // LogFormat cuts values rather than overflow: a line never takes more than this.
  constexpr size_t kLongestLine = 16 * 1024;
  if (kBufferSize - len_ < kLongestLine) flush();
  len_ += format.render(fields, buf_.get() + len_, kLongestLine);
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
