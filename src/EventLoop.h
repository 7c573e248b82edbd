// A thin epoll wrapper: one per process, one thread. Each registration carries a 64-bit tag that
// the owner decodes (kind, pool slot, generation). Owns the epoll fd only.
#pragma once

#include <sys/epoll.h>

#include <cstdint>

#include "UniqueFd.h"

namespace hs {

class EventLoop {
 public:
  static constexpr int kMaxEvents = 256;

  EventLoop();
  bool valid() const { return epfd_.valid(); }

  // Return 0 or -errno.
  int add(int fd, uint32_t events, uint64_t tag);
  int modify(int fd, uint32_t events, uint64_t tag);
  int remove(int fd);

  // Waits up to timeoutMs (-1: forever). Returns the number of ready events (0 on timeout or
  // EINTR).
  int wait(int timeoutMs);
  const epoll_event& event(int i) const { return events_[i]; }

 private:
  UniqueFd epfd_;
  epoll_event events_[kMaxEvents];
};

}  // namespace hs
