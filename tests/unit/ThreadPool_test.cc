#include "ThreadPool.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace hs {
namespace {

// A latch the tests open when they are ready to let blocked tasks finish.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> started{0};
  std::atomic<int> running{0};
  std::atomic<int> maxRunning{0};

  void wait() {
    int now = running.fetch_add(1) + 1;
    int seen = maxRunning.load();
    while (now > seen && !maxRunning.compare_exchange_weak(seen, now)) {
    }
    started.fetch_add(1);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return open; });
    running.fetch_sub(1);
  }
  void release() {
    {
      std::lock_guard<std::mutex> lock(mu);
      open = true;
    }
    cv.notify_all();
  }
};

struct SquareJob {
  uint64_t in;
  uint64_t out;
  Gate* gate;  // optional: block until opened
};

void square(PoolTask& t) {
  SquareJob& j = t.as<SquareJob>();
  if (j.gate != nullptr) j.gate->wait();
  j.out = j.in * j.in;
}

bool waitReadable(int fd, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeoutMs) == 1;
}

// Waits up to 10 s for pred(); the tests never sleep for a fixed time.
template <typename P>
bool eventually(P pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

PoolTask* submitSquare(ThreadPool& pool, uint64_t in, uint32_t slot, uint32_t gen, Gate* gate) {
  PoolTask* t = pool.acquire();
  if (t == nullptr) return nullptr;
  t->run = square;
  t->slot = slot;
  t->generation = gen;
  t->kind = 7;
  t->as<SquareJob>() = SquareJob{in, 0, gate};
  pool.submit(t);
  return t;
}

// Collects until `want` completions arrived (or 10 s passed); returns them in `out`.
struct Seen {
  uint32_t slot, generation, kind;
  uint64_t in, out;
};
void collectAll(ThreadPool& pool, size_t want, std::vector<Seen>* out) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (out->size() < want && std::chrono::steady_clock::now() < deadline) {
    if (!waitReadable(pool.eventFd(), 1000)) continue;
    pool.collect([out](PoolTask& t) {
      const SquareJob& j = t.as<SquareJob>();
      out->push_back(Seen{t.slot, t.generation, t.kind, j.in, j.out});
    });
  }
}

TEST(ThreadPoolTest, RunsTasksAndReturnsThemThroughTheEventFd) {
  struct Case {
    const char* name;
    int threads;
    uint32_t capacity;
    int tasks;
  };
  const Case cases[] = {
      {"one thread, one record", 1, 1, 1},
      {"one thread, full queue", 1, 8, 8},
      {"four threads", 4, 16, 16},
      {"more threads than tasks", 8, 4, 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ThreadPool pool(c.threads, c.capacity);
    ASSERT_TRUE(pool.valid());
    EXPECT_EQ(pool.threads(), c.threads);
    for (int i = 0; i < c.tasks; ++i) {
      ASSERT_NE(submitSquare(pool, static_cast<uint64_t>(i) + 3, static_cast<uint32_t>(i),
                             static_cast<uint32_t>(100 + i), nullptr),
                nullptr);
    }
    std::vector<Seen> seen;
    collectAll(pool, static_cast<size_t>(c.tasks), &seen);
    ASSERT_EQ(seen.size(), static_cast<size_t>(c.tasks));
    std::vector<bool> got(static_cast<size_t>(c.tasks), false);
    for (const Seen& s : seen) {
      ASSERT_LT(s.slot, static_cast<uint32_t>(c.tasks));
      EXPECT_EQ(s.generation, 100 + s.slot) << "the record carries its slot's generation";
      EXPECT_EQ(s.kind, 7u);
      EXPECT_EQ(s.in, s.slot + 3u);
      EXPECT_EQ(s.out, s.in * s.in);
      EXPECT_FALSE(got[s.slot]) << "each task comes back once";
      got[s.slot] = true;
    }
    EXPECT_EQ(pool.inFlight(), 0u);
    EXPECT_EQ(pool.stats().done, static_cast<uint64_t>(c.tasks));
    EXPECT_EQ(pool.stats().submitted, static_cast<uint64_t>(c.tasks));
    EXPECT_FALSE(waitReadable(pool.eventFd(), 0)) << "no completion left to signal";
  }
}

TEST(ThreadPoolTest, FullQueueRefusesAndRecordsAreReused) {
  ThreadPool pool(1, 2);
  Gate gate;
  ASSERT_NE(submitSquare(pool, 1, 0, 0, &gate), nullptr);
  ASSERT_NE(submitSquare(pool, 2, 1, 0, &gate), nullptr);
  EXPECT_EQ(pool.acquire(), nullptr) << "every record is taken: the caller works inline";
  EXPECT_EQ(pool.stats().refused, 1u);
  EXPECT_EQ(pool.inFlight(), 2u);
  gate.release();
  std::vector<Seen> seen;
  collectAll(pool, 2, &seen);
  ASSERT_EQ(seen.size(), 2u);
  // Both records are free again; an abandoned one goes back too.
  PoolTask* a = pool.acquire();
  PoolTask* b = pool.acquire();
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(pool.acquire(), nullptr);
  pool.abandon(a);
  EXPECT_EQ(pool.acquire(), a);
  pool.abandon(a);
  pool.abandon(b);
}

TEST(ThreadPoolTest, ThreadsRunConcurrentlyAndQueueCountsWaitingTasks) {
  ThreadPool pool(3, 8);
  Gate gate;
  for (int i = 0; i < 5; ++i) ASSERT_NE(submitSquare(pool, 2, 0, 0, &gate), nullptr);
  ASSERT_TRUE(eventually([&] { return gate.started.load() == 3; }));
  EXPECT_EQ(pool.queued(), 2u) << "three run, two wait";
  EXPECT_EQ(pool.inFlight(), 5u);
  gate.release();
  std::vector<Seen> seen;
  collectAll(pool, 5, &seen);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(gate.maxRunning.load(), 3);
  EXPECT_EQ(pool.queued(), 0u);
}

TEST(ThreadPoolTest, StatsAddUpWaitAndRunTime) {
  ThreadPool pool(1, 4);
  Gate gate;
  ASSERT_NE(submitSquare(pool, 2, 0, 0, &gate), nullptr);
  ASSERT_NE(submitSquare(pool, 3, 1, 0, &gate), nullptr);
  ASSERT_TRUE(eventually([&] { return gate.started.load() == 1; }));
  // The first task is blocked; let a measurable moment pass (by the clock, not a sleep).
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  ASSERT_TRUE(eventually([&] { return std::chrono::steady_clock::now() > until; }));
  gate.release();
  std::vector<Seen> seen;
  collectAll(pool, 2, &seen);
  ASSERT_EQ(seen.size(), 2u);
  const ThreadPoolStats& s = pool.stats();
  EXPECT_GE(s.runNs, 2'000'000u) << "the first task ran at least 2 ms";
  EXPECT_GE(s.waitNs, 2'000'000u) << "the second waited behind it";
  EXPECT_EQ(s.done, 2u);
}

TEST(ThreadPoolTest, ManyCompletionsFromManyThreadsAreAllCollected) {
  ThreadPool pool(4, 64);
  const int kRounds = 50;
  size_t total = 0;
  for (int r = 0; r < kRounds; ++r) {
    SCOPED_TRACE(r);
    int n = 0;
    while (submitSquare(pool, static_cast<uint64_t>(n), static_cast<uint32_t>(n), 0, nullptr) !=
           nullptr) {
      ++n;
    }
    ASSERT_EQ(n, 64);
    std::vector<Seen> seen;
    collectAll(pool, 64, &seen);
    ASSERT_EQ(seen.size(), 64u);
    total += seen.size();
  }
  EXPECT_EQ(pool.stats().done, total);
}

TEST(ThreadPoolTest, DestructionWaitsForTheRunningTask) {
  Gate gate;
  std::atomic<bool> destroyed{false};
  auto pool = std::make_unique<ThreadPool>(1, 4);
  for (int i = 0; i < 4; ++i) ASSERT_NE(submitSquare(*pool, 2, 0, 0, &gate), nullptr);
  ASSERT_TRUE(eventually([&] { return gate.started.load() == 1; }));
  std::thread destroyer([&] {
    pool.reset();
    destroyed = true;
  });
  // The destructor cannot return while a task runs.
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(20);
  ASSERT_TRUE(eventually([&] { return std::chrono::steady_clock::now() > until; }));
  EXPECT_FALSE(destroyed.load());
  gate.release();
  destroyer.join();
  EXPECT_TRUE(destroyed.load());
  EXPECT_EQ(gate.running.load(), 0) << "no task outlives the pool";
}

TEST(ThreadPoolTest, ShutdownHandsBackEveryRecordInFlight) {
  ThreadPool pool(1, 4);
  Gate gate;
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(submitSquare(pool, static_cast<uint64_t>(i), static_cast<uint32_t>(i), 0, &gate),
              nullptr);
  }
  ASSERT_TRUE(eventually([&] { return gate.started.load() == 1; }));
  std::thread opener([&] {
    // Let the running task finish only once shutdown() is (very likely) waiting for it.
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
    while (std::chrono::steady_clock::now() < until) std::this_thread::yield();
    gate.release();
  });
  std::vector<uint32_t> handed;
  std::vector<bool> ran;
  pool.shutdown([&](PoolTask& t) {
    handed.push_back(t.slot);
    ran.push_back(t.finishedNs != 0);
  });
  opener.join();
  EXPECT_EQ(handed.size(), 4u) << "the finished one and the three never run";
  EXPECT_EQ(std::count(ran.begin(), ran.end(), true), 1) << "queued tasks are never started";
  EXPECT_EQ(pool.inFlight(), 0u);
  EXPECT_NE(pool.acquire(), nullptr) << "the records are free again";
}

}  // namespace
}  // namespace hs
