// The slow filesystem fixture (tests/integration/slowfs.py, a FUSE passthrough that sleeps a fixed
// delay in every getattr, open and read) as an owner: mount() starts it over a directory and waits
// until it is mounted; the destructor always unmounts it and reaps the process, whether the test
// passed or not.
#pragma once

#include <sys/types.h>

#include <string>

namespace hs::integration {

class SlowFs {
 public:
  SlowFs() = default;
  SlowFs(const SlowFs&) = delete;
  SlowFs& operator=(const SlowFs&) = delete;
  ~SlowFs() { unmount(); }

  // Why the fixture cannot run here (no /dev/fuse, fusermount or python3-fuse), or "" if it can.
  static std::string unavailable();
  // Mounts `source` at `mountpoint` (an empty directory) with `delayMs` per operation. False with
  // *why set when it did not come up within a few seconds.
  bool mount(const std::string& source, const std::string& mountpoint, int delayMs,
             std::string* why);
  void unmount();

 private:
  pid_t pid_ = -1;
  std::string mountpoint_;
};

}  // namespace hs::integration
