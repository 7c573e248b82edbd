// Dispatcher against a plain SharedState, real channels (socketpairs) and a real loopback listening
// socket: no fork, no master. The test plays the workers: it sets their shared counters and reads
// what arrives on their ends of the channels.
#include "Dispatcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "Channel.h"
#include "Clock.h"

namespace hs {
namespace {

constexpr uint64_t kListenTag = 1ull << 62;

// The fds one channel read handed over, closed at the end of the test.
struct Received {
  ChannelMsg msg{};
  std::vector<UniqueFd> fds;
};

class DispatcherTest : public ::testing::Test {
 protected:
  // Workers 0..n-1 in slots 0..n-1, and a listening socket on a free loopback port.
  void make(int n, int conns) {
    shared_ = std::make_unique<SharedState>();
    for (int i = 0; i < n; ++i) {
      auto w = std::make_unique<WorkerProc>();
      UniqueFd workerEnd;
      ASSERT_TRUE(makeChannel(&w->channel, &workerEnd));
      w->slot = i;
      w->index = i;
      w->pid = 1000 + i;
      w->channelOpen = true;
      workers_.push_back(std::move(w));
      ends_.push_back(std::move(workerEnd));
    }
    std::vector<UniqueFd> listeners;
    listeners.push_back(listenOnLoopback());
    dispatcher_ = std::make_unique<Dispatcher>(&loop_, shared_.get(), &workers_,
                                               std::move(listeners), kListenTag);
    dispatcher_->setCapacity(conns);
    dispatcher_->start();
  }

  UniqueFd listenOnLoopback() {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd.get(), 512), 0);
    EXPECT_EQ(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
    return fd;
  }

  // Opens n client connections (the kernel completes them in the backlog).
  void connectClients(int n) {
    for (int i = 0; i < n; ++i) {
      UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(port_);
      ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      clients_.push_back(std::move(c));
    }
  }

  // Every message waiting on worker i's end of its channel.
  std::vector<Received> drain(int i) {
    std::vector<Received> out;
    for (;;) {
      Received r;
      int fds[kMaxFdsPerMessage];
      int nfds = 0;
      if (channelRecv(ends_[static_cast<size_t>(i)].get(), &r.msg, fds, &nfds) != 1) break;
      for (int k = 0; k < nfds; ++k) r.fds.emplace_back(fds[k]);
      out.push_back(std::move(r));
    }
    return out;
  }

  size_t fdsReceived(int i) {
    size_t n = 0;
    for (const Received& r : drain(i)) n += r.fds.size();
    return n;
  }

  WorkerStats& stats(int i) { return shared_->workers[i]; }
  WorkerProc& worker(int i) { return *workers_[static_cast<size_t>(i)]; }

  EventLoop loop_;
  std::unique_ptr<SharedState> shared_;
  Dispatcher::Workers workers_;
  std::vector<UniqueFd> ends_;
  std::vector<UniqueFd> clients_;
  std::unique_ptr<Dispatcher> dispatcher_;
  uint16_t port_ = 0;
};

TEST_F(DispatcherTest, PicksTheWorkerWithTheFewestConnectionsCountingThoseInFlight) {
  struct Case {
    const char* name;
    uint32_t live[3];
    uint64_t taken[3];
    uint64_t sent[3];
    int expect;
  };
  const Case cases[] = {
      {"fewest live", {5, 2, 7}, {0, 0, 0}, {0, 0, 0}, 1},
      {"in flight counts", {1, 1, 2}, {3, 3, 3}, {9, 3, 3}, 1},
      {"in flight makes the idle one busiest", {0, 4, 4}, {0, 0, 0}, {10, 0, 0}, 1},
      {"taken ahead of sent is not negative", {3, 2, 4}, {9, 0, 0}, {3, 0, 0}, 1},
      {"all equal but the last", {3, 3, 2}, {0, 0, 0}, {0, 0, 0}, 2},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    workers_.clear();
    ends_.clear();
    make(3, 100);
    for (int i = 0; i < 3; ++i) {
      stats(i).live = c.live[i];
      stats(i).taken = c.taken[i];
      worker(i).sent = c.sent[i];
    }
    EXPECT_EQ(dispatcher_->leastLoaded(monotonicMs()), &worker(c.expect));
  }
}

TEST_F(DispatcherTest, SkipsRetiringClosedAndFullWorkers) {
  make(4, 10);
  worker(0).retiring = true;
  worker(1).channelOpen = false;
  stats(2).live = 10;  // full
  stats(3).live = 9;
  EXPECT_EQ(dispatcher_->leastLoaded(monotonicMs()), &worker(3));
  stats(3).live = 10;
  EXPECT_EQ(dispatcher_->leastLoaded(monotonicMs()), nullptr);
}

TEST_F(DispatcherTest, EqualLoadsTakeTurns) {
  make(3, 10);
  std::vector<WorkerProc*> picks;
  for (int i = 0; i < 6; ++i) picks.push_back(dispatcher_->leastLoaded(monotonicMs()));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(std::count(picks.begin(), picks.end(), &worker(i)), 2);
  }
}

TEST_F(DispatcherTest, WhenAllAreFullTheOldestEvictableWaiterOfHalfASecondGetsOneMore) {
  make(3, 4);
  int64_t now = monotonicMs();
  for (int i = 0; i < 3; ++i) stats(i).live = 4;
  stats(0).oldestEvictableMs = now - kEvictAfterMs + 100;  // too young
  stats(1).oldestEvictableMs = now - kEvictAfterMs - 50;
  stats(2).oldestEvictableMs = now - kEvictAfterMs - 900;  // oldest
  EXPECT_EQ(dispatcher_->leastLoaded(now), &worker(2));
  worker(2).sent = 1;  // one eviction on its way to worker 2: it is above capacity now
  EXPECT_EQ(dispatcher_->leastLoaded(now), &worker(1));
  stats(1).oldestEvictableMs = 0;  // nothing evictable
  EXPECT_EQ(dispatcher_->leastLoaded(now), nullptr);
}

TEST_F(DispatcherTest, AcceptsARoundAndPassesItInBatchesSpreadEvenly) {
  make(2, 1000);
  connectClients(150);
  dispatcher_->onListenReady(0);
  std::vector<Received> a = drain(0), b = drain(1);
  size_t total = 0;
  for (const std::vector<Received>* msgs : {&a, &b}) {
    size_t n = 0;
    for (const Received& r : *msgs) {
      EXPECT_EQ(r.msg, ChannelMsg::kConnections);
      EXPECT_LE(r.fds.size(), static_cast<size_t>(kMaxFdsPerMessage));
      n += r.fds.size();
    }
    EXPECT_EQ(n, 75u) << "the workers took no connection, so they alternate";
    total += n;
  }
  EXPECT_EQ(total, 150u);
  EXPECT_EQ(shared_->accepted.load(), 150u);
  EXPECT_EQ(worker(0).sent + worker(1).sent, 150u);
  EXPECT_TRUE(dispatcher_->accepting());
}

TEST_F(DispatcherTest, PausesWhenEveryWorkerIsFullAndResumesWhenRoomFrees) {
  make(1, 2);
  connectClients(3);
  dispatcher_->onListenReady(0);
  EXPECT_EQ(fdsReceived(0), 2u);
  EXPECT_FALSE(dispatcher_->accepting()) << "the third client must wait in the backlog";
  EXPECT_EQ(dispatcher_->nextWakeMs(0), 100) << "the safety-net poll while paused";
  dispatcher_->roomMayHaveFreed();
  EXPECT_FALSE(dispatcher_->accepting()) << "nothing has freed yet";
  stats(0).taken = 2;
  stats(0).live = 1;  // the worker took both and closed one
  dispatcher_->roomMayHaveFreed();
  EXPECT_TRUE(dispatcher_->accepting());
  dispatcher_->onListenReady(0);
  EXPECT_EQ(fdsReceived(0), 1u);
}

TEST_F(DispatcherTest, ConnectionsAWorkerCannotTakeGoToAnotherOne) {
  make(2, 1000);
  ends_[0].reset();  // worker 0 is gone: sendmsg fails with EPIPE
  worker(1).retiring = true;
  connectClients(1);
  dispatcher_->onListenReady(0);  // only worker 0 takes work: the send fails
  EXPECT_FALSE(worker(0).channelOpen);
  EXPECT_EQ(dispatcher_->pending(), 1u);
  EXPECT_EQ(dispatcher_->nextWakeMs(0), 10) << "pending connections are retried soon";
  worker(1).retiring = false;
  dispatcher_->onTick(monotonicMs());
  EXPECT_EQ(dispatcher_->pending(), 0u);
  EXPECT_EQ(fdsReceived(1), 1u);
}

TEST_F(DispatcherTest, HandedBackConnectionsMoveToAWorkerThatTakesWork) {
  make(2, 1000);
  worker(0).retiring = true;
  UniqueFd sock[2];
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  sock[0].reset(pair[0]);
  sock[1].reset(pair[1]);
  int fds[2] = {sock[0].get(), sock[1].get()};
  ASSERT_EQ(channelSend(ends_[0].get(), ChannelMsg::kHandback, fds, 2), 0);
  dispatcher_->onChannel(&worker(0));
  EXPECT_EQ(dispatcher_->pending(), 0u);
  EXPECT_EQ(fdsReceived(1), 2u);
  EXPECT_EQ(fdsReceived(0), 0u);
}

TEST_F(DispatcherTest, AChannelAtEofIsNoLongerUsed) {
  make(2, 1000);
  ends_[1].reset();
  dispatcher_->onChannel(&worker(1));
  EXPECT_FALSE(worker(1).channelOpen);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(dispatcher_->leastLoaded(monotonicMs()), &worker(0));
}

TEST_F(DispatcherTest, ClosingTheListenersStopsAcceptingAndDropsPending) {
  make(1, 1000);
  ends_[0].reset();
  connectClients(1);
  dispatcher_->onListenReady(0);
  ASSERT_EQ(dispatcher_->pending(), 1u);
  dispatcher_->closeListeners();
  EXPECT_EQ(dispatcher_->pending(), 0u);
  EXPECT_FALSE(dispatcher_->accepting());
  EXPECT_TRUE(dispatcher_->listeners().empty());
  EXPECT_EQ(dispatcher_->nextWakeMs(0), INT64_MAX);
  dispatcher_->roomMayHaveFreed();
  EXPECT_FALSE(dispatcher_->accepting());
}

}  // namespace
}  // namespace hs
