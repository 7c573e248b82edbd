#include "EventLoop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace hs {
namespace {

UniqueFd makeEventFd() { return UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)); }

void signalEventFd(int fd) {
  uint64_t one = 1;
  ASSERT_EQ(::write(fd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
}

TEST(EventLoopTest, IsValid) {
  EventLoop loop;
  EXPECT_TRUE(loop.valid());
}

TEST(EventLoopTest, WaitTimesOutWithZero) {
  EventLoop loop;
  UniqueFd efd = makeEventFd();
  ASSERT_EQ(loop.add(efd.get(), EPOLLIN, 1), 0);
  EXPECT_EQ(loop.wait(0), 0);
  EXPECT_EQ(loop.wait(1), 0);
}

TEST(EventLoopTest, EventFdReadinessCarriesTag) {
  EventLoop loop;
  UniqueFd efd = makeEventFd();
  const uint64_t tag = 0xC0FFEE'0000'1234ull;
  ASSERT_EQ(loop.add(efd.get(), EPOLLIN, tag), 0);
  signalEventFd(efd.get());
  ASSERT_EQ(loop.wait(1000), 1);
  EXPECT_EQ(loop.event(0).data.u64, tag);
  EXPECT_NE(loop.event(0).events & EPOLLIN, 0u);
}

TEST(EventLoopTest, TagsRoundTripForSeveralFds) {
  EventLoop loop;
  const uint64_t tags[] = {0, 1, 1ull << 62, (2ull << 62) | 7, ~0ull};
  UniqueFd fds[5];
  for (int i = 0; i < 5; ++i) {
    fds[i] = makeEventFd();
    ASSERT_EQ(loop.add(fds[i].get(), EPOLLIN, tags[i]), 0);
    signalEventFd(fds[i].get());
  }
  int n = loop.wait(1000);
  ASSERT_EQ(n, 5);
  bool seen[5] = {};
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 5; ++j) {
      if (loop.event(i).data.u64 == tags[j]) seen[j] = true;
    }
  }
  for (int j = 0; j < 5; ++j) EXPECT_TRUE(seen[j]) << "tag " << tags[j];
}

TEST(EventLoopTest, PipeReadableAndWritable) {
  EventLoop loop;
  int p[2];
  ASSERT_EQ(::pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  ASSERT_EQ(loop.add(r.get(), EPOLLIN, 10), 0);
  ASSERT_EQ(loop.add(w.get(), EPOLLOUT, 20), 0);
  // Only the write end is ready at first.
  ASSERT_EQ(loop.wait(0), 1);
  EXPECT_EQ(loop.event(0).data.u64, 20u);
  EXPECT_NE(loop.event(0).events & EPOLLOUT, 0u);
  ASSERT_EQ(::write(w.get(), "x", 1), 1);
  ASSERT_EQ(loop.wait(1000), 2);
  // Closing the write end makes the read end report hang-up.
  ASSERT_EQ(loop.remove(w.get()), 0);
  w.reset();
  char c;
  ASSERT_EQ(::read(r.get(), &c, 1), 1);
  ASSERT_EQ(loop.wait(1000), 1);
  EXPECT_EQ(loop.event(0).data.u64, 10u);
  EXPECT_NE(loop.event(0).events & EPOLLHUP, 0u);
}

TEST(EventLoopTest, ModifyChangesEventsAndTag) {
  EventLoop loop;
  UniqueFd efd = makeEventFd();
  ASSERT_EQ(loop.add(efd.get(), EPOLLIN, 1), 0);
  EXPECT_EQ(loop.wait(0), 0);  // nothing to read yet
  ASSERT_EQ(loop.modify(efd.get(), EPOLLOUT, 2), 0);
  ASSERT_EQ(loop.wait(0), 1);  // an eventfd is always writable
  EXPECT_EQ(loop.event(0).data.u64, 2u);
  EXPECT_NE(loop.event(0).events & EPOLLOUT, 0u);
  EXPECT_EQ(loop.event(0).events & EPOLLIN, 0u);
}

TEST(EventLoopTest, EdgeTriggeredReportsOncePerEdge) {
  EventLoop loop;
  UniqueFd efd = makeEventFd();
  ASSERT_EQ(loop.add(efd.get(), EPOLLIN | EPOLLET, 3), 0);
  signalEventFd(efd.get());
  EXPECT_EQ(loop.wait(0), 1);
  EXPECT_EQ(loop.wait(0), 0);  // still readable, but no new edge
  signalEventFd(efd.get());
  EXPECT_EQ(loop.wait(0), 1);
}

TEST(EventLoopTest, RemoveStopsEvents) {
  EventLoop loop;
  UniqueFd efd = makeEventFd();
  ASSERT_EQ(loop.add(efd.get(), EPOLLIN, 1), 0);
  signalEventFd(efd.get());
  ASSERT_EQ(loop.remove(efd.get()), 0);
  EXPECT_EQ(loop.wait(0), 0);
}

TEST(EventLoopTest, ErrorsAreNegativeErrno) {
  EventLoop loop;
  UniqueFd efd = makeEventFd();
  EXPECT_EQ(loop.modify(efd.get(), EPOLLIN, 1), -ENOENT);
  EXPECT_EQ(loop.remove(efd.get()), -ENOENT);
  ASSERT_EQ(loop.add(efd.get(), EPOLLIN, 1), 0);
  EXPECT_EQ(loop.add(efd.get(), EPOLLIN, 1), -EEXIST);
  EXPECT_EQ(loop.add(-1, EPOLLIN, 1), -EBADF);
  UniqueFd file(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(file.valid());
  EXPECT_EQ(loop.add(file.get(), EPOLLIN, 1),
            -EPERM);  // regular files and directories cannot be polled
}

}  // namespace
}  // namespace hs
