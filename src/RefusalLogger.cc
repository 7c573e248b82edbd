#include "RefusalLogger.h"

#include "Log.h"

namespace hs {
namespace {

void logSummary(uint64_t suppressed) {
  if (suppressed == 0) return;
  LOG_WARN("%llu refused-request lines not logged (more than %u a second)",
           static_cast<unsigned long long>(suppressed), RefusalLogger::kLinesPerSecond);
}

}  // namespace

void RefusalLogger::log(const RefusalDetail& d, const sockaddr_storage& peer,
                        std::string_view requestLine, time_t nowSec) {
  LogLevel level = refusalLevel(d);
  if (!log::enabled(level)) return;
  uint64_t suppressed = 0;
  bool allowed = limiter_.allow(nowSec, &suppressed);
  logSummary(suppressed);
  if (!allowed) return;
  char line[1024];
  size_t n = formatRefusal(d, peer, requestLine, line, sizeof line);
  log::write(level, 0, "%.*s", static_cast<int>(n), line);
}

void RefusalLogger::tick(time_t nowSec) { logSummary(limiter_.flush(nowSec)); }

}  // namespace hs
