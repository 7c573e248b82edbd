// Error log: "2026/11/22 19:00:00 [error] [pid] text". One process-wide sink (stderr or a file
// opened O_APPEND, so every process of the server can share it); each line is one write(2).
#pragma once

#include <cstdint>
#include <string>

namespace hs {

enum class LogLevel : uint8_t { kError, kWarn, kInfo, kDebug };

namespace log {
// Opens `path` ("" = stderr). Returns false (and keeps the old sink) when it cannot be opened.
bool open(const std::string& path, LogLevel level);
// Reopens the current file (SIGUSR1, after logrotate moved it).
bool reopen();
void setLevel(LogLevel level);
bool enabled(LogLevel level);
void write(LogLevel level, int err, const char* fmt, ...) __attribute__((format(printf, 3, 4)));
// The sink's fd, so a forked worker keeps it when it closes the master's other fds.
int fd();
}  // namespace log

}  // namespace hs

#define LOG_AT(level, err, ...)                                               \
  do {                                                                        \
    if (::hs::log::enabled(level)) ::hs::log::write(level, err, __VA_ARGS__); \
  } while (0)
#define LOG_ERROR(...) LOG_AT(::hs::LogLevel::kError, 0, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(::hs::LogLevel::kWarn, 0, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(::hs::LogLevel::kInfo, 0, __VA_ARGS__)
#define LOG_DEBUG(...) LOG_AT(::hs::LogLevel::kDebug, 0, __VA_ARGS__)
// Appends ": strerror(err)"; pass the errno saved right after the failing call.
#define LOG_SYSERR(err, ...) LOG_AT(::hs::LogLevel::kError, err, __VA_ARGS__)
