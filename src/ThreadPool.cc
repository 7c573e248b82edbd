#include "ThreadPool.h"

#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace hs {

ThreadPool::ThreadPool(int threads, uint32_t capacity)
    : capacity_(capacity < 1 ? 1 : capacity),
      records_(new PoolTask[capacity_]),
      batch_(new PoolTask*[capacity_]),
      eventFd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  freeList_.reserve(capacity_);
  for (uint32_t i = capacity_; i > 0; --i) freeList_.push_back(&records_[i - 1]);
  pending_.items.reset(new PoolTask*[capacity_]);
  done_.items.reset(new PoolTask*[capacity_]);
  if (threads < 1) threads = 1;
  // The threads inherit the creator's signal mask: block everything while they are made, so no
  // signal meant for the reactor's signalfd (or a default action) ever lands on a pool thread.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { threadMain(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
}

uint32_t ThreadPool::takeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t n = 0;
  while (done_.count > 0) batch_[n++] = pop(done_);
  while (pending_.count > 0) batch_[n++] = pop(pending_);
  return n;
}

PoolTask* ThreadPool::acquire() {
  if (freeList_.empty()) {
    ++stats_.refused;
    return nullptr;
  }
  PoolTask* t = freeList_.back();
  freeList_.pop_back();
  return t;
}

void ThreadPool::submit(PoolTask* task) {
  task->submittedNs = nowNs();
  task->startedNs = task->finishedNs = 0;
  ++inFlight_;
  ++stats_.submitted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    push(pending_, task);
  }
  wake_.notify_one();
}

uint32_t ThreadPool::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.count;
}

uint32_t ThreadPool::takeFinished() {
  // The counter is read before the ring is emptied: a completion pushed after this read either
  // lands in the ring taken below or writes the eventfd again (see threadMain), so none is missed.
  uint64_t ignored;
  while (::read(eventFd_.get(), &ignored, sizeof ignored) < 0 && errno == EINTR) {
  }
  std::lock_guard<std::mutex> lock(mu_);
  uint32_t n = 0;
  while (done_.count > 0) batch_[n++] = pop(done_);
  return n;
}

void ThreadPool::recycle(PoolTask* t) {
  ++stats_.done;
  stats_.waitNs += static_cast<uint64_t>(t->startedNs - t->submittedNs);
  stats_.runNs += static_cast<uint64_t>(t->finishedNs - t->startedNs);
  --inFlight_;
  freeList_.push_back(t);
}

void ThreadPool::threadMain() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || pending_.count > 0; });
    if (stop_) return;
    PoolTask* t = pop(pending_);
    lock.unlock();
    t->startedNs = nowNs();
    t->run(*t);
    t->finishedNs = nowNs();
    lock.lock();
    // Only the push that makes the ring non-empty signals: the reactor takes the whole ring after
    // reading the counter, so later completions before that take ride along with it.
    bool wasEmpty = done_.count == 0;
    push(done_, t);
    if (wasEmpty) {
      uint64_t one = 1;
      while (::write(eventFd_.get(), &one, sizeof one) < 0 && errno == EINTR) {
      }
    }
  }
}

void ThreadPool::push(Ring& r, PoolTask* t) const {
  r.items[(r.head + r.count) % capacity_] = t;
  ++r.count;
}

PoolTask* ThreadPool::pop(Ring& r) const {
  PoolTask* t = r.items[r.head];
  r.head = (r.head + 1) % capacity_;
  --r.count;
  return t;
}

int64_t ThreadPool::nowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace hs
