#include "Channel.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace hs {
namespace {

// Fixed size: a connection's listen index travels beside its fd, so nothing is allocated or
// parsed, and any other length is a peer we do not understand.
struct Wire {
  uint32_t type;
  uint32_t nfds;
  uint16_t listens[kMaxFdsPerMessage];
};

union ControlBuffer {
  char buf[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)];
  cmsghdr align;
};

}  // namespace

bool makeChannel(UniqueFd* masterEnd, UniqueFd* workerEnd) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return false;
  masterEnd->reset(sv[0]);
  workerEnd->reset(sv[1]);
  return true;
}

int channelSend(int channel, ChannelMsg msg, const int* fds, int nfds, const uint16_t* listens) {
  Wire wire{static_cast<uint32_t>(msg), static_cast<uint32_t>(nfds), {}};
  if (listens != nullptr && nfds > 0) {
    std::memcpy(wire.listens, listens, sizeof(uint16_t) * static_cast<size_t>(nfds));
  }
  iovec iov{&wire, sizeof wire};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ControlBuffer control{};  // zeroed: CMSG_SPACE pads past the fds, and the padding is sent too
  if (nfds > 0) {
    size_t bytes = sizeof(int) * static_cast<size_t>(nfds);
    mh.msg_control = control.buf;
    mh.msg_controllen = CMSG_SPACE(bytes);
    cmsghdr* c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(bytes);
    std::memcpy(CMSG_DATA(c), fds, bytes);
  }
  for (;;) {
    if (::sendmsg(channel, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int channelRecv(int channel, ChannelMsg* msg, int* fds, int* nfds, uint16_t* listens) {
  Wire wire{};
  iovec iov{&wire, sizeof wire};
  msghdr mh{};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  ControlBuffer control;
  mh.msg_control = control.buf;
  mh.msg_controllen = sizeof control.buf;
  ssize_t n;
  do {
    n = ::recvmsg(channel, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  if (n == 0) return 0;
  *nfds = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&mh); c != nullptr; c = CMSG_NXTHDR(&mh, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    std::memcpy(fds + *nfds, CMSG_DATA(c), count * sizeof(int));
    *nfds += static_cast<int>(count);
  }
  *msg = static_cast<ChannelMsg>(wire.type);
  if (listens != nullptr) {
    std::memcpy(listens, wire.listens, sizeof(uint16_t) * static_cast<size_t>(*nfds));
  }
  // A short message or truncated control data means a peer we do not understand: treat the fds
  // as received (the caller closes them) and report a protocol error.
  if (static_cast<size_t>(n) != sizeof wire || (mh.msg_flags & MSG_CTRUNC) != 0) return -EPROTO;
  return 1;
}

}  // namespace hs
