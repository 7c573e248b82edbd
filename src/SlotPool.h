// Fixed-capacity pool of slots with a free list: the worker's connections. The objects are
// constructed once and never freed until destruction, so the steady state allocates nothing. Pure
// code.
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

}  // namespace hs
