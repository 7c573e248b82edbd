// Dispatcher against a plain SharedState, real channels (socketpairs) and a real loopback listening
// socket: no fork, no master. The test plays the workers: it sets their shared counters and reads
// what arrives on their ends of the channels.
#include "Dispatcher.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
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
  std::vector<uint16_t> listens;  // the listen index passed with each fd
};

// The local port of a connected or listening socket.
uint16_t localPort(int fd) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

// True once the peer of `fd` (a socketpair end) is closed everywhere: a read sees EOF.
bool peerClosed(int fd) {
  char c;
  return ::recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

class DispatcherTest : public ::testing::Test {
 protected:
  // Workers 0..n-1 in slots 0..n-1, and `listens` listening sockets on free loopback ports
  // (index i serves table entry i).
  void make(int n, int conns, int listens = 1) {
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
    std::vector<ListenSocket> listeners;
    auto table = std::make_shared<ListenTable>();
    for (int i = 0; i < listens; ++i) {
      UniqueFd fd = listenOnLoopback();
      table->push_back(ListenAddress{"127.0.0.1", port_});
      listeners.push_back(ListenSocket{std::move(fd), static_cast<uint16_t>(i), table->back()});
    }
    table_ = table;
    for (auto& w : workers_) w->listens = table_;
    dispatcher_ = std::make_unique<Dispatcher>(&loop_, shared_.get(), &workers_,
                                               std::move(listeners), table_, kListenTag);
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
  void connectClients(int n, uint16_t port = 0) {
    if (port == 0) port = port_;
    for (int i = 0; i < n; ++i) {
      UniqueFd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      addr.sin_port = htons(port);
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
      uint16_t listens[kMaxFdsPerMessage];
      int nfds = 0;
      if (channelRecv(ends_[static_cast<size_t>(i)].get(), &r.msg, fds, &nfds, listens) != 1) break;
      for (int k = 0; k < nfds; ++k) r.fds.emplace_back(fds[k]);
      r.listens.assign(listens, listens + nfds);
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
  std::shared_ptr<const ListenTable> table_;
  uint16_t port_ = 0;  // of the last listening socket made
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

// Several listen addresses: each connection goes to its worker with the index of the address it
// arrived on (checked against the port the connection really has).
TEST_F(DispatcherTest, EachConnectionCarriesTheIndexOfTheAddressItArrivedOn) {
  make(2, 1000, 3);
  const int perAddress[] = {5, 1, 70};  // 70 > one message's 64 fds
  for (size_t i = 0; i < 3; ++i) connectClients(perAddress[i], (*table_)[i].port);
  for (size_t i = 0; i < 3; ++i) dispatcher_->onListenReady(i);
  int seen[3] = {0, 0, 0};
  for (int w = 0; w < 2; ++w) {
    for (const Received& r : drain(w)) {
      ASSERT_EQ(r.listens.size(), r.fds.size());
      for (size_t k = 0; k < r.fds.size(); ++k) {
        ASSERT_LT(r.listens[k], 3u);
        EXPECT_EQ(localPort(r.fds[k].get()), (*table_)[r.listens[k]].port);
        ++seen[r.listens[k]];
      }
    }
  }
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(seen[i], perAddress[i]) << "address " << i;
}

// A worker of an older configuration hands back connections with indexes into its own table: the
// next worker gets the index of the same address in the current table, and a connection whose
// address was removed is closed.
TEST_F(DispatcherTest, HandBacksAreReindexedToTheCurrentTable) {
  make(2, 1000);
  auto old = std::make_shared<ListenTable>(
      ListenTable{{"127.0.0.1", 1001}, {"127.0.0.1", 1002}, {"::1", 1003}});  // A, B (removed), C
  worker(0).listens = old;
  worker(0).retiring = true;
  auto current = std::make_shared<ListenTable>(ListenTable{{"::1", 1003}, {"127.0.0.1", 1001}});
  std::vector<ListenSocket> none;
  dispatcher_->setListeners(std::move(none), current);
  std::vector<UniqueFd> mine, peers;
  int fds[3];
  for (int i = 0; i < 3; ++i) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    mine.emplace_back(pair[0]);
    peers.emplace_back(pair[1]);
    fds[i] = pair[0];
  }
  const uint16_t indexes[3] = {0, 1, 2};
  ASSERT_EQ(channelSend(ends_[0].get(), ChannelMsg::kHandback, fds, 3, indexes), 0);
  mine.clear();  // the message holds the only copies now
  dispatcher_->onChannel(&worker(0));
  std::vector<Received> got = drain(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].fds.size(), 2u);
  EXPECT_EQ(got[0].listens, (std::vector<uint16_t>{1, 0})) << "A is now 1, C is now 0";
  EXPECT_FALSE(peerClosed(peers[0].get()));
  EXPECT_TRUE(peerClosed(peers[1].get())) << "B's connection is closed, not passed on";
  EXPECT_FALSE(peerClosed(peers[2].get()));
}

// Connections waiting in the pending queue across a reload keep their address.
TEST_F(DispatcherTest, PendingConnectionsAreReindexedOnReload) {
  make(1, 1000, 2);
  ends_[0].reset();  // the only worker is gone: accepted connections stay pending
  connectClients(2, (*table_)[0].port);
  connectClients(3, (*table_)[1].port);
  dispatcher_->onListenReady(0);
  worker(0).channelOpen = true;  // so that it is tried (and fails) again
  dispatcher_->onListenReady(1);
  worker(0).channelOpen = false;
  ASSERT_EQ(dispatcher_->pending(), 5u);
  // Address 0 is removed, address 1 becomes index 0.
  auto next = std::make_shared<ListenTable>(ListenTable{(*table_)[1]});
  dispatcher_->setListeners({}, next);
  EXPECT_EQ(dispatcher_->pending(), 3u);
  // A new worker takes them, with the new index.
  auto w = std::make_unique<WorkerProc>();
  UniqueFd end;
  ASSERT_TRUE(makeChannel(&w->channel, &end));
  w->slot = 1;
  w->channelOpen = true;
  w->listens = next;
  workers_.push_back(std::move(w));
  ends_.push_back(std::move(end));
  dispatcher_->onTick(monotonicMs());
  std::vector<Received> got = drain(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].fds.size(), 3u);
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(got[0].listens[k], 0);
    EXPECT_EQ(localPort(got[0].fds[k].get()), (*next)[0].port);
  }
  // The connections of the removed address were closed: their clients read EOF.
  for (size_t c = 0; c < 2; ++c) {
    pollfd p{clients_[c].get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 2000), 1) << "client " << c;
    EXPECT_TRUE(peerClosed(clients_[c].get())) << "client " << c;
  }
}

}  // namespace
}  // namespace hs
