// Helpers shared by the hardening and operations suites: timing, /proc CPU accounting, the status
// page's JSON counters, slow sockets and scratch document roots. Header-only, on top of
// TestServer.h; every wait is bounded.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "TestServer.h"

namespace hs::integration::harden {

using Clock = std::chrono::steady_clock;

inline void sleepMs(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

inline int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// utime + stime of a process in milliseconds (fields 14 and 15 of /proc/PID/stat); -1 if unreadable.
inline int64_t cpuMs(pid_t pid) {
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return -1;
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return -1;
  // After ") " come fields 3.. ; utime is field 14, stime field 15.
  const char* p = stat->c_str() + close + 2;
  char* end = nullptr;
  long long fields[13] = {};
  for (int i = 0; i < 13; ++i) {
    if (i == 0) {  // field 3 is the state letter
      while (*p == ' ') ++p;
      ++p;
      continue;
    }
    fields[i] = std::strtoll(p, &end, 10);
    p = end;
  }
  long tick = ::sysconf(_SC_CLK_TCK);
  if (tick <= 0) return -1;
  return (fields[11] + fields[12]) * 1000 / tick;
}

// Value of "key":NUMBER in a flat JSON text (the first occurrence); nullopt when absent.
inline std::optional<long long> jsonNumber(std::string_view json, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::string rest(json.substr(at + needle.size(), 24));
  char* end = nullptr;
  long long v = std::strtoll(rest.c_str(), &end, 10);
  if (end == rest.c_str()) return std::nullopt;
  return v;
}

// Occurrences of `needle` in `text`.
inline size_t countOf(std::string_view text, std::string_view needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// GET `path` on a fresh connection with Connection: close.
inline Response fetch(uint16_t port, std::string_view path, std::string_view extra = "") {
  Client c(port);
  if (!c.ok()) {
    Response r;
    r.error = "connect failed";
    return r;
  }
  return c.exchange(getRequest(path, std::string("Connection: close\r\n") + std::string(extra)));
}

// The status page in JSON form (server started with --status-path /server-status).
inline Response statusJson(uint16_t port) { return fetch(port, "/server-status?json"); }

// Polls the status page until "active" equals `want` (the status request itself counts as one);
// returns the last value seen, or -1 if the page could not be read.
inline long long waitActive(uint16_t port, long long want, int timeoutMs) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  long long last = -1;
  for (;;) {
    Response r = statusJson(port);
    last = r.status == 200 ? jsonNumber(r.body, "active").value_or(-1) : -1;
    if (last == want || Clock::now() >= deadline) return last;
    sleepMs(20);
  }
}

// A socket connected to 127.0.0.1:port whose receive buffer was shrunk before connecting, so the
// advertised window stays small and a server writing to it blocks early. 5 s I/O timeouts.
inline TestFd connectSmallWindow(uint16_t port) { return connectTo(port, 4096); }

// One recv with a poll deadline: >0 bytes appended, 0 on EOF, -1 on error (errno) or timeout
// (errno == ETIMEDOUT).
inline ssize_t recvWithin(int fd, std::string* out, size_t max, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  int r = ::poll(&p, 1, timeoutMs);
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

struct ShellResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr, merged
};

// Runs `cmd` through /bin/sh and collects its output.
inline ShellResult runShell(const std::string& cmd) {
  ShellResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.exitCode = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
  return r;
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
