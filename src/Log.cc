#include "Log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace hs::log {
namespace {

int gFd = STDERR_FILENO;
LogLevel gLevel = LogLevel::kInfo;
std::string gPath;

const char* levelName(LogLevel l) {
  switch (l) {
    case LogLevel::kError:
      return "error";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kDebug:
      return "debug";
  }
  return "?";
}

int openAppend(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

}  // namespace

bool open(const std::string& path, LogLevel level) {
  gLevel = level;
  if (path.empty()) {
    if (gFd != STDERR_FILENO) ::close(gFd);
    gFd = STDERR_FILENO;
    gPath.clear();
    return true;
  }
  int fd = openAppend(path);
  if (fd < 0) return false;
  if (gFd != STDERR_FILENO) ::close(gFd);
  gFd = fd;
  gPath = path;
  return true;
}

bool reopen() {
  if (gPath.empty()) return true;
  int fd = openAppend(gPath);
  if (fd < 0) return false;
  // dup2 keeps the fd number stable, so code holding log::fd() keeps working.
  ::dup2(fd, gFd);
  ::close(fd);
  ::fcntl(gFd, F_SETFD, FD_CLOEXEC);
  return true;
}

void setLevel(LogLevel level) { gLevel = level; }
bool enabled(LogLevel level) { return level <= gLevel; }
int fd() { return gFd; }

void write(LogLevel level, int err, const char* fmt, ...) {
  char line[1024];
  time_t now = ::time(nullptr);
  struct tm tm;
  ::localtime_r(&now, &tm);
  size_t n = ::strftime(line, sizeof line, "%Y/%m/%d %H:%M:%S", &tm);
  int k = ::snprintf(line + n, sizeof line - n, " [%s] [%d] ", levelName(level),
                     static_cast<int>(::getpid()));
  n += static_cast<size_t>(k);
  va_list ap;
  va_start(ap, fmt);
  k = ::vsnprintf(line + n, sizeof line - n, fmt, ap);
  va_end(ap);
  n = k < 0 ? n : std::min(sizeof line - 1, n + static_cast<size_t>(k));
  if (err != 0 && n < sizeof line - 1) {
    k = ::snprintf(line + n, sizeof line - n, ": %s", ::strerror(err));
    n = k < 0 ? n : std::min(sizeof line - 1, n + static_cast<size_t>(k));
  }
  if (n > sizeof line - 2) n = sizeof line - 2;
  line[n++] = '\n';
  ssize_t ignored = ::write(gFd, line, n);
  (void)ignored;
}

}  // namespace hs::log
