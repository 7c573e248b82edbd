// A per-second budget for log lines: at most N lines in any one second, the rest counted, so the
// caller can write one summary ("K lines suppressed") instead. Pure: the caller passes the time.
#pragma once

#include <cstdint>

namespace hs {

class LogLimiter {
 public:
  explicit LogLimiter(uint32_t perSecond) : perSecond_(perSecond) {}

  // Whether one more line may be written in second `nowSec`. When this call is the first of a new
  // second and lines were suppressed before it, *suppressed receives their number (and they are
  // forgotten), so the caller writes the summary first; otherwise *suppressed is 0.
  bool allow(int64_t nowSec, uint64_t* suppressed) {
    *suppressed = 0;
    if (nowSec != second_) {
      *suppressed = takeSuppressed();
      second_ = nowSec;
      used_ = 0;
    }
    if (used_ < perSecond_) {
      ++used_;
      return true;
    }
    ++suppressed_;
    return false;
  }

  // For a periodic tick: the lines suppressed in a second that has ended, then forgotten; 0 while
  // the second they belong to is still going (more may come) or when there are none.
  uint64_t flush(int64_t nowSec) { return nowSec != second_ ? takeSuppressed() : 0; }

  // Lines were suppressed and not yet reported by allow() or flush().
  bool pending() const { return suppressed_ != 0; }

 private:
  uint64_t takeSuppressed() {
    uint64_t n = suppressed_;
    suppressed_ = 0;
    return n;
  }

  uint32_t perSecond_;
  int64_t second_ = INT64_MIN;
  uint32_t used_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace hs
