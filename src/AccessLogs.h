// The worker's access log files: every distinct access_log path of the configuration opened once
// (one fd and one buffer however many servers and locations name it), reopened together on USR1,
// flushed together on the 1 s tick and at exit. Ids are RouteConfig::accessLogs' indexes, which
// LocationSettings::accessLogId names. Owns the logs.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "AccessLog.h"

namespace hs {

class AccessLogs {
 public:
  // Opens paths[i] as log i. Returns false with *failed naming the first path that could not be
  // opened (errno is left from it); the others are opened all the same.
  bool open(const std::vector<std::string>& paths, std::string* failed);
  // Log `id`, or nullptr for -1 (access_log off) or a log that is not open.
  AccessLog* at(int id) const {
    if (id < 0 || static_cast<size_t>(id) >= logs_.size()) return nullptr;
    AccessLog* log = logs_[static_cast<size_t>(id)].get();
    return log->enabled() ? log : nullptr;
  }
  bool any() const { return any_; }
  // Reopens every log (after USR1: the files were rotated). Returns false if one failed.
  bool reopen();
  void flush();
  void flushIfDue(time_t now);

 private:
  std::vector<std::unique_ptr<AccessLog>> logs_;
  bool any_ = false;
};

}  // namespace hs
