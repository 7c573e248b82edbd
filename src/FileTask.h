// The file work a worker gives its thread pool. A FileCache miss becomes a task that opens the path
// beneath the cache's root and stats it (and reads a small file) on a pool thread; the reactor
// installs the result in that cache and the handler that asked answers then. A window of a large
// body that is not in the page cache becomes a read-ahead task, so the reactor's sendfile finds it
// resident. Payloads are plain data: a path, a borrowed fd and the probe coming back.
#pragma once

#include <cstdint>
#include <string_view>

#include "FileCache.h"
#include "ThreadPool.h"

namespace hs {

// The kinds of task (PoolTask::kind).
constexpr uint32_t kOpenTask = 1;
constexpr uint32_t kReadAheadTask = 2;

struct FileTask {
  static constexpr size_t kMaxPath = 4096;

  FileCache* cache;  // where the result is installed (its root is where the path is opened)
  int rootFd;
  uint32_t pathLen;
  FileProbe probe;  // filled by the pool thread
  char path[kMaxPath + 1];

  std::string_view pathView() const { return {path, pathLen}; }
};

// Fills `task` (from ThreadPool::acquire) to probe `path` in `cache` for the connection in pool
// slot `slot` at `generation`; `owner` is the handler that takes it back. False (and `task`
// untouched) when the path is too long.
bool prepareFileTask(PoolTask* task, void* owner, FileCache* cache, std::string_view path,
                     uint32_t slot, uint32_t generation);

// A window of a file body read on a pool thread (into a scratch buffer, thrown away). The task
// holds a reference on the entry, so its fd stays open even if the connection goes away.
struct ReadAheadTask {
  FileCache* cache;
  FileEntry* entry;
  int fd;
  uint64_t off;
  uint64_t len;
};

void prepareReadAhead(PoolTask* task, FileCache* cache, FileEntry* entry, uint64_t off,
                      uint64_t len, uint32_t slot, uint32_t generation);
// On the reactor: gives the entry back.
void finishReadAhead(PoolTask& task);

// Whether the pages of [off, off + len) of fd are in the page cache: cachestat(2), or where that
// is refused a non-blocking one-byte read at each end. One or two system calls, no copy. Reactor
// thread only.
bool pagesResident(int fd, uint64_t off, uint64_t len);

}  // namespace hs
