// A lazily grown free-list pool: the connections' I/O state. Objects are made on demand up to a
// limit and reused after release, never freed until destruction, so after warm-up the steady state
// allocates nothing. Pure code.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace hs {

// Objects of T handed out on demand, at most `limit` alive; released ones are reused (LIFO, so the
// most recently touched memory is reused first). Growth allocates; reuse does not.
template <typename T>
class FreeListPool {
 public:
  explicit FreeListPool(uint32_t limit) : limit_(limit) { free_.reserve(limit); }
  T* acquire() {
    if (!free_.empty()) {
      T* t = free_.back();
      free_.pop_back();
      return t;
    }
    if (all_.size() >= limit_) return nullptr;
    all_.push_back(std::make_unique<T>());
    return all_.back().get();
  }
  void release(T* t) { free_.push_back(t); }
  size_t allocated() const { return all_.size(); }
  size_t idle() const { return free_.size(); }

 private:
  std::vector<std::unique_ptr<T>> all_;
  std::vector<T*> free_;
  uint32_t limit_;
};

}  // namespace hs
