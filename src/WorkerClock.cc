#include "WorkerClock.h"

#include <time.h>

#include "HttpDate.h"
#include "HttpResponse.h"

namespace hs {

void WorkerClock::update() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  nowMs_ = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  nowSec_ = ts.tv_sec;
  if (nowSec_ != headSecond_) {
    headSecond_ = nowSec_;
    FixedWriter w(commonHead_, sizeof commonHead_);
    char date[kHttpDateLen];
    formatHttpDate(nowSec_, date);
    w.add("Server: ").add(kServerName).add("\r\nDate: ").add({date, kHttpDateLen}).add("\r\n");
    commonHeadLen_ = static_cast<uint32_t>(w.size());
  }
}

}  // namespace hs
