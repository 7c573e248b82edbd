// Move-only owner of a file descriptor. Its reset() (and so its destructor) is the only ::close()
// on the worker's side (Worker, Connection, the handlers, FileCache, AccessLog, Channel): every
// descriptor there lives in a UniqueFd from the syscall that creates it.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace hs {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  // Closes the descriptor held (if any) and holds `fd`. Keeps errno, so an owner can go out of
  // scope between a failed call and the report of its error.
  void reset(int fd = -1) {
    if (fd_ >= 0) {
      int saved = errno;
      ::close(fd_);
      errno = saved;
    }
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace hs
