#include "EventLoop.h"

#include <cerrno>

#include "DirectSyscall.h"

namespace hs {

EventLoop::EventLoop() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {}

int EventLoop::add(int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int EventLoop::modify(int fd, uint32_t events, uint64_t tag) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = tag;
  return ::epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -errno;
}

int EventLoop::remove(int fd) {
  return ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr) == 0 ? 0 : -errno;
}

int EventLoop::wait(int timeoutMs) {
  int n = direct::epollWait(epfd_.get(), events_, kMaxEvents, timeoutMs);
  return n < 0 ? 0 : n;  // EINTR: the caller's loop simply goes round again
}

}  // namespace hs
