// A small fixed pool of threads for a worker's blocking file work (open, stat, cold reads). Task
// records are preallocated (a fixed-capacity queue, nothing allocated per task); the reactor takes
// a free record, fills it and submits it; a pool thread runs it; the finished record comes back to
// the reactor through an eventfd that the reactor's EventLoop watches. Only the reactor thread
// takes, submits, collects and recycles records; the threads see a record only between its
// submission and its completion, and touch nothing else. A record carries the slot and generation
// of the connection that asked, so the reactor can tell that the connection closed meanwhile. Owns
// the threads, the records and the eventfd.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

#include "UniqueFd.h"

namespace hs {

struct PoolTask {
  static constexpr size_t kPayloadBytes = 4096 + 256;  // a path beneath the root and its result
  using Fn = void (*)(PoolTask& task);

  Fn run = nullptr;         // called on a pool thread
  void* owner = nullptr;    // the caller's: who takes the finished task back
  uint32_t slot = 0;        // the connection that asked: pool slot
  uint32_t generation = 0;  // and the slot's generation when it asked
  uint32_t kind = 0;        // the caller's tag (what the payload holds)
  int64_t submittedNs = 0;  // CLOCK_MONOTONIC, set by submit()
  int64_t startedNs = 0;    // set by the thread before run
  int64_t finishedNs = 0;   // set by the thread after run
  alignas(std::max_align_t) unsigned char payload[kPayloadBytes];

  // The payload seen as a T (trivially destructible, so a record is reused without destructors).
  template <typename T>
  T& as() {
    static_assert(sizeof(T) <= kPayloadBytes && std::is_trivially_destructible_v<T>);
    static_assert(alignof(T) <= alignof(std::max_align_t));
    return *std::launder(reinterpret_cast<T*>(payload));
  }
};

// Reactor-side counters (never reset).
struct ThreadPoolStats {
  uint64_t submitted = 0;
  uint64_t done = 0;     // completions collected
  uint64_t waitNs = 0;   // summed time between submit and start
  uint64_t runNs = 0;    // summed time between start and finish
  uint64_t refused = 0;  // acquire() found no free record (the caller did the work inline)
};

class ThreadPool {
 public:
  // `threads` >= 1 threads and `capacity` >= 1 task records. Threads start at once with every
  // signal blocked (the reactor keeps its signalfd). Check valid() (the eventfd was made).
  ThreadPool(int threads, uint32_t capacity);
  // Stops the threads: a task that is running finishes; queued ones are dropped unrun.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  bool valid() const { return eventFd_.valid(); }
  // Readable (EPOLLIN) when completions are waiting for collect().
  int eventFd() const { return eventFd_.get(); }

  // A free record, or nullptr when all are taken (queued, running or not yet collected): the
  // caller then does the work itself. Reactor thread only.
  PoolTask* acquire();
  // Hands a record from acquire(), filled, to the threads. Reactor thread only.
  void submit(PoolTask* task);
  // Gives back a record from acquire() that was not submitted.
  void abandon(PoolTask* task) { freeList_.push_back(task); }

  // Calls onDone(task) for each finished record, then recycles it; the callback must not
  // keep it. Returns how many. Reactor thread only; call when eventFd() is readable (a spurious
  // call is harmless).
  template <typename F>
  size_t collect(F&& onDone) {
    uint32_t n = takeFinished();
    for (uint32_t i = 0; i < n; ++i) {
      PoolTask* t = batch_[i];
      onDone(*t);
      recycle(t);
    }
    return n;
  }

  // Stops the threads (a running task finishes; queued ones are never run) and hands every record
  // still in flight, run or not, to onEach, so that the caller can free what its payload holds.
  // The pool takes no more work. Reactor thread only.
  template <typename F>
  void shutdown(F&& onEach) {
    stop();
    uint32_t n = takeAll();
    for (uint32_t i = 0; i < n; ++i) {
      onEach(*batch_[i]);
      freeList_.push_back(batch_[i]);
    }
    inFlight_ = 0;
  }

  // Submitted and not yet started.
  uint32_t queued() const;
  // Submitted and not yet collected (queued, running or finished).
  uint32_t inFlight() const { return inFlight_; }
  uint32_t capacity() const { return capacity_; }
  int threads() const { return static_cast<int>(threads_.size()); }
  const ThreadPoolStats& stats() const { return stats_; }

 private:
  // Reads the eventfd and moves the finished records into batch_; returns how many.
  uint32_t takeFinished();
  void recycle(PoolTask* t);
  void stop();
  // After stop(): moves every queued and finished record into batch_; returns how many.
  uint32_t takeAll();
  void threadMain();
  static int64_t nowNs();

  // Rings of record pointers, each with room for every record, so a push never fails.
  struct Ring {
    std::unique_ptr<PoolTask*[]> items;
    uint32_t head = 0;
    uint32_t count = 0;
  };
  void push(Ring& r, PoolTask* t) const;
  PoolTask* pop(Ring& r) const;

  uint32_t capacity_;
  std::unique_ptr<PoolTask[]> records_;
  std::vector<PoolTask*> freeList_;     // reactor only
  std::unique_ptr<PoolTask*[]> batch_;  // reactor only: what takeFinished() took
  uint32_t inFlight_ = 0;               // reactor only
  ThreadPoolStats stats_;               // reactor only
  UniqueFd eventFd_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  Ring pending_;  // guarded by mu_
  Ring done_;     // guarded by mu_
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace hs
