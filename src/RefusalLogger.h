// The worker's error-log lines for the requests it refuses on its own account (see RefusalLog.h):
// each at its cause's level, within a budget of lines per second (LogLimiter), so a flood of bad
// requests cannot flood the log. Lines over the budget are counted, and their number is logged as
// one summary line: before the next line, or on the worker's 1 s tick.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string_view>

#include "LogLimiter.h"
#include "RefusalLog.h"

namespace hs {

class RefusalLogger {
 public:
  static constexpr uint32_t kLinesPerSecond = 20;

  // Logs the refusal `d` of a request from `peer` whose request line is `requestLine` (may be
  // empty), unless its level is off or the second's budget is spent.
  void log(const RefusalDetail& d, const sockaddr_storage& peer, std::string_view requestLine,
           time_t nowSec);
  // The worker's tick: logs the summary of a second that has ended.
  void tick(time_t nowSec);
  // Lines were suppressed and their summary is still to be logged.
  bool pending() const { return limiter_.pending(); }

 private:
  LogLimiter limiter_{kLinesPerSecond};
};

}  // namespace hs
