// Test helper: input placed so that its last byte is followed by a PROT_NONE page, so any read
// past the end crashes the test (as picohttpparser's tests do).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace hs {

class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t capacity) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_ = ((capacity + page_ - 1) / page_ + 1) * page_;
    void* mem = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(mem);
    if (mprotect(base_ + size_ - page_, page_, PROT_NONE) != 0) std::abort();
  }
  ~GuardedBuffer() { munmap(base_, size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  // Copies `bytes` to end right before the guard page and returns where they start. The bytes
  // before them are overwritten, so stale input from an earlier call cannot matter.
  const char* place(std::string_view bytes) {
    char* end = base_ + size_ - page_;
    std::memset(base_, 0x5A, size_ - page_);
    if (!bytes.empty()) std::memcpy(end - bytes.size(), bytes.data(), bytes.size());
    return end - bytes.size();
  }

 private:
  char* base_ = nullptr;
  size_t size_ = 0;
  size_t page_ = 0;
};

}  // namespace hs
