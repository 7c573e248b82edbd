// The reactor's per-request system calls made without glibc's cancellation wrappers. Once a
// process has a second thread (the worker's thread pool), glibc brackets every cancellation point
// (recv, send, sendmsg, epoll_wait, close) with __pthread_enable_asynccancel and
// __pthread_disable_asynccancel, about 70 instructions per call. Nothing in this server ever
// cancels a thread, so those calls go through syscall(2) directly: the same system call, the same
// errno, with or without threads. Header only.
#pragma once

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstddef>

namespace hs::direct {

inline ssize_t recv(int fd, void* buf, size_t len, int flags) {
  return ::syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr);
}

inline ssize_t send(int fd, const void* buf, size_t len, int flags) {
  return ::syscall(SYS_sendto, fd, buf, len, flags, nullptr, 0);
}

inline ssize_t sendmsg(int fd, const msghdr* mh, int flags) {
  return ::syscall(SYS_sendmsg, fd, mh, flags);
}

inline int epollWait(int epfd, epoll_event* events, int max, int timeoutMs) {
  return static_cast<int>(::syscall(SYS_epoll_wait, epfd, events, max, timeoutMs));
}

}  // namespace hs::direct
