// Fixed-capacity slot pool with a free list (the connection pool), and a lazily grown free-list
// pool for per-connection I/O state. Neither frees memory until destruction, so after warm-up the
// steady state allocates nothing. Pure code.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace hs {

// `capacity` objects of T constructed once. acquire() returns nullptr when all are in use.
// Objects are never moved, so pointers to them stay valid; index() maps back to the slot.
template <typename T>
class SlotPool {
 public:
  explicit SlotPool(uint32_t capacity) : slots_(new T[capacity]), capacity_(capacity) {
    free_.reserve(capacity);
    for (uint32_t i = capacity; i > 0; --i) free_.push_back(i - 1);
  }
  T* acquire() {
    if (free_.empty()) return nullptr;
    uint32_t i = free_.back();
    free_.pop_back();
    return &slots_[i];
  }
  void release(T* t) { free_.push_back(index(t)); }
  T& at(uint32_t i) { return slots_[i]; }
  uint32_t index(const T* t) const { return static_cast<uint32_t>(t - slots_.get()); }
  uint32_t capacity() const { return capacity_; }
  uint32_t inUse() const { return capacity_ - static_cast<uint32_t>(free_.size()); }

 private:
  std::unique_ptr<T[]> slots_;
  std::vector<uint32_t> free_;
  uint32_t capacity_;
};

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
