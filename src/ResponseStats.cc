#include "ResponseStats.h"

#include "SingleWriter.h"

namespace hs {

void recordResponse(ResponseStats& s, int status, uint64_t bytes, uint64_t durationUs) {
  if (status >= 100 && status < 600) bump(s.byClass[status / 100 - 1]);
  bump(s.bytesSent, bytes);
  bump(s.durationSumUs, durationUs);
  bump(s.duration[durationBucket(durationUs)]);
}

}  // namespace hs
