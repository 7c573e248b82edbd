#include "AccessLogs.h"

#include <cerrno>

namespace hs {

bool AccessLogs::open(const std::vector<std::string>& paths, std::string* failed) {
  logs_.clear();
  any_ = false;
  bool ok = true;
  int firstErr = 0;
  for (const std::string& path : paths) {
    logs_.push_back(std::make_unique<AccessLog>());
    if (!logs_.back()->open(path) && ok) {
      ok = false;
      firstErr = errno;
      *failed = path;
    }
    any_ = any_ || logs_.back()->enabled();
  }
  if (!ok) errno = firstErr;
  return ok;
}

bool AccessLogs::reopen() {
  bool ok = true;
  for (auto& log : logs_) ok = log->reopen() && ok;
  return ok;
}

void AccessLogs::flush() {
  for (auto& log : logs_) log->flush();
}

void AccessLogs::flushIfDue(time_t now) {
  for (auto& log : logs_) log->flushIfDue(now);
}

}  // namespace hs
