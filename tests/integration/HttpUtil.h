// Helpers shared by the protocol-semantics and tool-agreement integration tests, built on the
// harness in TestServer.h: one-shot exchanges, raw response heads, multipart/byteranges parsing,
// file times, and locating external programs.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {

// Workers drop privileges to nobody when the suite runs as root; a mkdtemp directory (0700) would
// be unreadable to them.
inline bool makeTraversable(const std::string& path) { return ::chmod(path.c_str(), 0755) == 0; }

inline bool setMtime(const std::string& path, std::time_t t) {
  timespec times[2] = {{t, 0}, {t, 0}};
  return ::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0;
}

inline std::optional<std::time_t> fileMtime(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st.st_mtim.tv_sec;
}

// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
inline std::string formatImfFixdate(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// The response head exactly as sent (status line and fields, up to but excluding the blank line),
// with the Date field removed since it may tick between two requests. "" if no head arrived.
inline std::string rawHeadWithoutDate(uint16_t port, std::string_view request) {
  Client c(port);
  if (!c.ok() || !c.send(request)) return "";
  std::string buf;
  char tmp[4096];
  for (int i = 0; i < 1000 && buf.find("\r\n\r\n") == std::string::npos; ++i) {
    if (!waitReadable(c.fd(), 5000)) return "";
    ssize_t n = ::read(c.fd(), tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
  }
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return "";
  std::string head = buf.substr(0, end + 2);
  std::string out;
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    std::string line = head.substr(pos, eol + 2 - pos);
    if (toLower(line.substr(0, 5)) != "date:") out += line;
    pos = eol + 2;
  }
  return out;
}

// Value of the parameter `name` in a header value such as "multipart/byteranges; boundary=x".
inline std::string headerParam(std::string_view value, std::string_view name) {
  std::string lower = toLower(value);
  std::string key = toLower(name) + "=";
  size_t pos = lower.find(key);
  if (pos == std::string::npos) return "";
  std::string_view rest = value.substr(pos + key.size());
  if (!rest.empty() && rest[0] == '"') {
    size_t close = rest.find('"', 1);
    return std::string(rest.substr(1, close == std::string_view::npos ? close : close - 1));
  }
  size_t end = rest.find_first_of("; \t");
  return std::string(rest.substr(0, end));
}

struct BytePart {
  std::string contentType;
  std::string contentRange;
  std::string body;
};

// Splits a multipart/byteranges body (RFC 9110 14.6 / RFC 2046 5.1.1). Returns nullopt with *error
// set when the framing is wrong: missing delimiters, a part without a blank line, or bytes that are
// neither preamble, parts nor the close delimiter.
inline std::optional<std::vector<BytePart>> parseMultipart(std::string_view body,
                                                           std::string_view boundary,
                                                           std::string* error) {
  std::vector<BytePart> parts;
  const std::string delim = "--" + std::string(boundary);
  size_t pos = body.find(delim);
  if (pos == std::string_view::npos) {
    *error = "no opening delimiter";
    return std::nullopt;
  }
  pos += delim.size();
  for (;;) {
    if (body.substr(pos, 2) == "--") return parts;  // close delimiter
    if (body.substr(pos, 2) != "\r\n") {
      *error = "delimiter not followed by CRLF at " + std::to_string(pos);
      return std::nullopt;
    }
    pos += 2;
    size_t headEnd = body.find("\r\n\r\n", pos);
    if (headEnd == std::string_view::npos) {
      *error = "part head without a blank line";
      return std::nullopt;
    }
    BytePart part;
    std::string_view head = body.substr(pos, headEnd - pos);
    size_t lineStart = 0;
    while (lineStart <= head.size()) {
      size_t eol = head.find("\r\n", lineStart);
      std::string_view line =
          head.substr(lineStart, eol == std::string_view::npos ? eol : eol - lineStart);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        std::string name = toLower(line.substr(0, colon));
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        if (name == "content-type") part.contentType = std::string(value);
        if (name == "content-range") part.contentRange = std::string(value);
      }
      if (eol == std::string_view::npos) break;
      lineStart = eol + 2;
    }
    size_t dataStart = headEnd + 4;
    size_t next = body.find("\r\n" + delim, dataStart);
    if (next == std::string_view::npos) {
      *error = "part without a following delimiter";
      return std::nullopt;
    }
    part.body = std::string(body.substr(dataStart, next - dataStart));
    parts.push_back(std::move(part));
    pos = next + 2 + delim.size();
  }
}

// "bytes 0-99/1234" -> {0, 99, 1234}; nullopt when not that shape.
struct ContentRange {
  uint64_t first = 0, last = 0, size = 0;
};
inline std::optional<ContentRange> parseContentRange(std::string_view v) {
  ContentRange cr;
  unsigned long long a = 0, b = 0, s = 0;
  std::string text(v);
  int used = 0;
  if (std::sscanf(text.c_str(), "bytes %llu-%llu/%llu%n", &a, &b, &s, &used) != 3 ||
      static_cast<size_t>(used) != text.size()) {
    return std::nullopt;
  }
  cr.first = a;
  cr.last = b;
  cr.size = s;
  return cr;
}

// Full path of an executable found in $PATH, or "" when there is none.
inline std::string findExecutable(std::string_view name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t pos = 0;
  while (pos <= dirs.size()) {
    size_t colon = dirs.find(':', pos);
    std::string dir = dirs.substr(pos, colon == std::string::npos ? colon : colon - pos);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + std::string(name);
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    if (colon == std::string::npos) break;
    pos = colon + 1;
  }
  return "";
}

}  // namespace hs::integration
