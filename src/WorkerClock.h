// A worker's clock, read once per reactor round: monotonic milliseconds for timers, wall-clock
// seconds, and the "Server:" and "Date:" lines every response head starts with (rebuilt once a
// second). Reads only the coarse clocks.
#pragma once

#include <cstdint>
#include <ctime>
#include <string_view>

namespace hs {

class WorkerClock {
 public:
  void update();

  int64_t nowMs() const { return nowMs_; }
  time_t nowSec() const { return nowSec_; }
  std::string_view commonHead() const { return {commonHead_, commonHeadLen_}; }

 private:
  int64_t nowMs_ = 0;
  time_t nowSec_ = 0;
  time_t headSecond_ = 0;
  char commonHead_[64];  // "Server: ...\r\nDate: ...\r\n"
  uint32_t commonHeadLen_ = 0;
};

}  // namespace hs
