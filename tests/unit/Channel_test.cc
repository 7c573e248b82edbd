#include "Channel.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace hs {
namespace {

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      r.reset(p[0]);
      w.reset(p[1]);
    }
  }
};

// Owns the fds a receive handed over, so a failing assertion cannot leak them.
struct Received {
  ChannelMsg msg{};
  int fds[kMaxFdsPerMessage];
  int nfds = 0;
  ~Received() {
    for (int i = 0; i < nfds; ++i) ::close(fds[i]);
  }
};

class ChannelTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(makeChannel(&master_, &worker_)); }
  UniqueFd master_, worker_;
};

void writeAll(int fd, const std::string& s) {
  ASSERT_EQ(::write(fd, s.data(), s.size()), static_cast<ssize_t>(s.size()));
}

std::string readSome(int fd) {
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST_F(ChannelTest, MakeChannelGivesCloseOnExecSeqpacketPair) {
  for (int fd : {master_.get(), worker_.get()}) {
    EXPECT_NE(::fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    int type = 0;
    socklen_t len = sizeof type;
    ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
    EXPECT_EQ(type, SOCK_SEQPACKET);
  }
}

TEST_F(ChannelTest, PassesPipeReadEndThatStillReads) {
  Pipe p;
  ASSERT_TRUE(p.r.valid());
  int fd = p.r.get();
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, &fd, 1), 0);
  p.r.reset();  // the sender's copy is gone; the message holds its own reference

  Received rx;
  ASSERT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 1);
  EXPECT_EQ(rx.msg, ChannelMsg::kConnections);
  ASSERT_EQ(rx.nfds, 1);
  writeAll(p.w.get(), "hello through a passed fd");
  EXPECT_EQ(readSome(rx.fds[0]), "hello through a passed fd");
}

TEST_F(ChannelTest, ReceivedFdsAreCloseOnExec) {
  Pipe p;
  int fd = p.r.get();
  ASSERT_EQ(::fcntl(fd, F_SETFD, 0), 0);  // sent without the flag; the receiver must add it
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, &fd, 1), 0);
  Received rx;
  ASSERT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 1);
  ASSERT_EQ(rx.nfds, 1);
  int flags = ::fcntl(rx.fds[0], F_GETFD);
  ASSERT_GE(flags, 0);
  EXPECT_NE(flags & FD_CLOEXEC, 0);
}

TEST_F(ChannelTest, SendsMaximumFdsInOneMessage) {
  std::vector<Pipe> pipes(kMaxFdsPerMessage);
  int fds[kMaxFdsPerMessage];
  for (int i = 0; i < kMaxFdsPerMessage; ++i) {
    ASSERT_TRUE(pipes[static_cast<size_t>(i)].r.valid());
    fds[i] = pipes[static_cast<size_t>(i)].r.get();
  }
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kHandback, fds, kMaxFdsPerMessage), 0);

  Received rx;
  ASSERT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 1);
  EXPECT_EQ(rx.msg, ChannelMsg::kHandback);
  ASSERT_EQ(rx.nfds, kMaxFdsPerMessage);
  // Order is kept: writing to pipe i is readable through received fd i.
  for (int i = 0; i < kMaxFdsPerMessage; ++i) {
    SCOPED_TRACE(i);
    std::string msg = "pipe " + std::to_string(i);
    writeAll(pipes[static_cast<size_t>(i)].w.get(), msg);
    EXPECT_EQ(readSome(rx.fds[i]), msg);
  }
}

// Each connection carries the index of the listen address it arrived on, in order, and a
// message without indexes (a hand-back from an older sender) reads as index 0.
TEST_F(ChannelTest, CarriesEachConnectionsListenIndex) {
  struct Case {
    const char* name;
    int nfds;
    bool withIndexes;
  };
  const Case cases[] = {{"one", 1, true},
                        {"three", 3, true},
                        {"full message", kMaxFdsPerMessage, true},
                        {"no indexes given", 5, false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<Pipe> pipes(static_cast<size_t>(c.nfds));
    int fds[kMaxFdsPerMessage];
    uint16_t sent[kMaxFdsPerMessage];
    for (int i = 0; i < c.nfds; ++i) {
      fds[i] = pipes[static_cast<size_t>(i)].r.get();
      sent[i] = static_cast<uint16_t>(65535 - 7 * i);  // distinct, and the top bit used
    }
    ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, fds, c.nfds,
                          c.withIndexes ? sent : nullptr),
              0);
    Received rx;
    uint16_t got[kMaxFdsPerMessage];
    std::fill(got, got + kMaxFdsPerMessage, uint16_t{1});
    ASSERT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds, got), 1);
    ASSERT_EQ(rx.nfds, c.nfds);
    for (int i = 0; i < c.nfds; ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(got[i], c.withIndexes ? sent[i] : 0);
      writeAll(pipes[static_cast<size_t>(i)].w.get(), "x");
      EXPECT_EQ(readSome(rx.fds[i]), "x");  // the index belongs to the fd at the same position
    }
  }
}

// The indexes need no second message and no size field: every message has one fixed length.
TEST_F(ChannelTest, EveryMessageHasOneFixedSize) {
  Pipe p;
  int fd = p.r.get();
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kQuit, nullptr, 0), 0);
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, &fd, 1), 0);
  char buf[1024];
  ssize_t a = ::recv(worker_.get(), buf, sizeof buf, 0);
  msghdr mh{};
  iovec iov{buf, sizeof buf};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  union {
    char b[CMSG_SPACE(sizeof(int))];
    cmsghdr align;
  } control;
  mh.msg_control = control.b;
  mh.msg_controllen = sizeof control.b;
  ssize_t b = ::recvmsg(worker_.get(), &mh, MSG_CMSG_CLOEXEC);
  ASSERT_GT(a, 0);
  EXPECT_EQ(a, b);
  cmsghdr* c = CMSG_FIRSTHDR(&mh);
  ASSERT_NE(c, nullptr);
  int passed;
  std::memcpy(&passed, CMSG_DATA(c), sizeof passed);
  ::close(passed);
}

TEST_F(ChannelTest, KeepsMessageBoundaries) {
  Pipe a, b;
  int fa = a.r.get(), fb = b.r.get();
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, &fa, 1), 0);
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, &fb, 1), 0);
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kQuit, nullptr, 0), 0);

  Received first, second, third;
  ASSERT_EQ(channelRecv(worker_.get(), &first.msg, first.fds, &first.nfds), 1);
  ASSERT_EQ(channelRecv(worker_.get(), &second.msg, second.fds, &second.nfds), 1);
  ASSERT_EQ(channelRecv(worker_.get(), &third.msg, third.fds, &third.nfds), 1);
  ASSERT_EQ(first.nfds, 1);
  ASSERT_EQ(second.nfds, 1);
  EXPECT_EQ(third.msg, ChannelMsg::kQuit);
  EXPECT_EQ(third.nfds, 0);
  writeAll(a.w.get(), "A");
  writeAll(b.w.get(), "B");
  EXPECT_EQ(readSome(first.fds[0]), "A");
  EXPECT_EQ(readSome(second.fds[0]), "B");
}

TEST_F(ChannelTest, MessagesWithoutFdsCarryTheirType) {
  const ChannelMsg kinds[] = {ChannelMsg::kRetire, ChannelMsg::kQuit, ChannelMsg::kSlotFree};
  for (ChannelMsg m : kinds) ASSERT_EQ(channelSend(worker_.get(), m, nullptr, 0), 0);
  for (ChannelMsg m : kinds) {
    Received rx;
    rx.nfds = -1;
    ASSERT_EQ(channelRecv(master_.get(), &rx.msg, rx.fds, &rx.nfds), 1);
    EXPECT_EQ(rx.msg, m);
    EXPECT_EQ(rx.nfds, 0);
    if (rx.nfds < 0) rx.nfds = 0;
  }
}

TEST_F(ChannelTest, RecvReturnsEagainWhenEmptyAndZeroAfterPeerCloses) {
  Received rx;
  EXPECT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), -EAGAIN);
  ASSERT_EQ(channelSend(master_.get(), ChannelMsg::kQuit, nullptr, 0), 0);
  master_.reset();
  // A message queued before the close is still delivered, then EOF.
  EXPECT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 1);
  EXPECT_EQ(rx.msg, ChannelMsg::kQuit);
  EXPECT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 0);
  EXPECT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 0);
}

TEST_F(ChannelTest, SendToClosedPeerReturnsEpipeWithoutSignal) {
  // SIGPIPE keeps its default action here: if the send raised it, the test process would die.
  worker_.reset();
  Pipe p;
  int fd = p.r.get();
  EXPECT_EQ(channelSend(master_.get(), ChannelMsg::kQuit, nullptr, 0), -EPIPE);
  EXPECT_EQ(channelSend(master_.get(), ChannelMsg::kConnections, &fd, 1), -EPIPE);
}

TEST_F(ChannelTest, SendReturnsEagainWhenChannelIsFull) {
  int sent = 0;
  int r = 0;
  while ((r = channelSend(master_.get(), ChannelMsg::kSlotFree, nullptr, 0)) == 0 &&
         sent < 1'000'000) {
    ++sent;
  }
  EXPECT_EQ(r, -EAGAIN);
  EXPECT_GT(sent, 0);
  Received rx;
  ASSERT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), 1);
  EXPECT_EQ(channelSend(master_.get(), ChannelMsg::kSlotFree, nullptr, 0), 0);  // room again
}

TEST_F(ChannelTest, ShortMessageFromUnknownPeerIsProtocolError) {
  char junk[3] = {1, 2, 3};
  ASSERT_EQ(::send(master_.get(), junk, sizeof junk, 0), static_cast<ssize_t>(sizeof junk));
  Received rx;
  EXPECT_EQ(channelRecv(worker_.get(), &rx.msg, rx.fds, &rx.nfds), -EPROTO);
  EXPECT_EQ(rx.nfds, 0);
}

}  // namespace
}  // namespace hs
