#include "FileTask.h"

#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace hs {
namespace {

void runFileTask(PoolTask& t) {
  FileTask& f = t.as<FileTask>();
  probeFile(f.rootFd, f.path, &f.probe);
}

void runReadAhead(PoolTask& t) {
  ReadAheadTask& r = t.as<ReadAheadTask>();
  static thread_local char scratch[64 * 1024];
  uint64_t done = 0;
  while (done < r.len) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(r.len - done, sizeof scratch));
    ssize_t n = ::pread(r.fd, scratch, want, static_cast<off_t>(r.off + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of file or an error: sendfile meets it again and says so
    done += static_cast<uint64_t>(n);
  }
}

// cachestat(2), Linux 6.5: the number of cached pages in a range of a file.
constexpr long kSysCachestat = 451;
struct CachestatRange {
  uint64_t off;
  uint64_t len;
};
struct Cachestat {
  uint64_t nrCache, nrDirty, nrWriteback, nrEvicted, nrRecentlyEvicted;
};

bool byteResident(int fd, uint64_t off) {
  char c;
  iovec iov{&c, 1};
  // EAGAIN: not in memory. EOPNOTSUPP (FUSE, some network filesystems): unknown, so not known to
  // be resident: the pool reads it. 0 at the end of the file is nothing to wait for.
  return ::preadv2(fd, &iov, 1, static_cast<off_t>(off), RWF_NOWAIT) >= 0;
}

}  // namespace

bool pagesResident(int fd, uint64_t off, uint64_t len) {
  if (len == 0) return true;
  static const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  static bool haveCachestat = true;  // reactor thread only
  if (haveCachestat) {
    CachestatRange range{off, len};
    Cachestat cs{};
    if (::syscall(kSysCachestat, fd, &range, &cs, 0) == 0) {
      uint64_t first = off / kPage, last = (off + len - 1) / kPage;
      return cs.nrCache >= last - first + 1;
    }
    // ENOSYS: before Linux 6.5; EPERM: newer kernels allow it only on files the caller may write,
    // which a worker's user may not. Either holds for every file: stop asking.
    if (errno == ENOSYS || errno == EPERM) haveCachestat = false;
  }
  return byteResident(fd, off) && byteResident(fd, off + len - 1);
}

void prepareReadAhead(PoolTask* task, FileCache* cache, FileEntry* entry, uint64_t off,
                      uint64_t len, uint32_t slot, uint32_t generation) {
  FileCache::retain(entry);
  task->as<ReadAheadTask>() = ReadAheadTask{cache, entry, entry->fd.get(), off, len};
  task->run = runReadAhead;
  task->owner = nullptr;
  task->kind = kReadAheadTask;
  task->slot = slot;
  task->generation = generation;
}

void finishReadAhead(PoolTask& task) {
  ReadAheadTask& r = task.as<ReadAheadTask>();
  r.cache->release(r.entry);
}

bool prepareFileTask(PoolTask* task, void* owner, FileCache* cache, std::string_view path,
                     uint32_t slot, uint32_t generation) {
  if (path.size() > FileTask::kMaxPath) return false;
  FileTask& f = task->as<FileTask>();
  f.cache = cache;
  f.rootFd = cache->rootFd();
  f.pathLen = static_cast<uint32_t>(path.size());
  std::memcpy(f.path, path.data(), path.size());
  f.path[path.size()] = '\0';
  f.probe = FileProbe{};
  task->run = runFileTask;
  task->owner = owner;
  task->kind = kOpenTask;
  task->slot = slot;
  task->generation = generation;
  return true;
}

}  // namespace hs
