// Helpers shared by the hardening and operations suites: slow sockets, raw responses and scratch
// document roots. Header-only, on top of TestServer.h and Wait.h; every wait is bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration::harden {

// Occurrences of `needle` in `text`.
inline size_t countOf(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// A socket connected to 127.0.0.1:port whose receive buffer was shrunk before connecting, so the
// advertised window stays small and a server writing to it blocks early. 5 s I/O timeouts.
inline TestFd connectSmallWindow(uint16_t port) { return connectTo(port, 4096); }

// One recv with a poll deadline: >0 bytes appended, 0 on EOF, -1 on error (errno) or timeout
// (errno == ETIMEDOUT).
inline ssize_t recvWithin(int fd, std::string* out, size_t max, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, scaled(timeoutMs));
  if (r == 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  if (r < 0) return -1;
  std::string buf(max, '\0');
  ssize_t n = ::recv(fd, buf.data(), max, MSG_DONTWAIT);
  if (n > 0) out->append(buf.data(), static_cast<size_t>(n));
  return n;
}

// Bytes received on fd and not read yet (FIONREAD); -1 on error.
inline int unreadBytes(int fd) {
  int n = 0;
  return ::ioctl(fd, FIONREAD, &n) == 0 ? n : -1;
}

// Splits a raw response into head (without the blank line) and the body bytes received so far.
inline bool splitHead(const std::string& raw, std::string* head, std::string* body) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  *head = raw.substr(0, end);
  *body = raw.substr(end + 4);
  return true;
}

// Content-Length from a raw head; -1 if absent.
inline long long contentLengthOf(const std::string& head) {
  std::string lower = toLower(head);
  size_t at = lower.find("\r\ncontent-length:");
  if (at == std::string::npos) return -1;
  return std::strtoll(lower.c_str() + at + 17, nullptr, 10);
}

// Deterministic bytes for a test file: `seed` makes versions of the same file differ everywhere.
inline std::string patternBytes(size_t size, uint32_t seed) {
  std::string s(size, '\0');
  uint32_t x = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x & 0xff);
  }
  return s;
}

// Writes `data` to path.tmp and renames it over `path` (readers of the old file keep it).
inline bool replaceFile(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  return writeFile(tmp, data) && ::rename(tmp.c_str(), path.c_str()) == 0;
}

// The project directory: $HTTPSERVER_SRCDIR, else the parent of $HTTPSERVER_WWW, else ".".
inline std::string projectDir() {
  if (const char* d = std::getenv("HTTPSERVER_SRCDIR"); d != nullptr && *d != '\0') return d;
  std::filesystem::path www = std::filesystem::absolute(siteRoot());
  std::string s = www.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return std::filesystem::path(s).parent_path().string();
}

// Non-empty lines of `text` (a trailing partial line included).
inline std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace hs::integration::harden
