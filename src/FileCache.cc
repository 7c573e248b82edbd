#include "FileCache.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>

#include "HttpDate.h"
#include "MimeTypes.h"

namespace hs {
namespace {

// Without openat2 (kernels before 5.6, valgrind, some seccomp filters): walk the path one
// component at a time with O_NOFOLLOW. That refuses every symlink, even one that stays inside the
// root (ELOOP -> 403): stricter than RESOLVE_BENEATH, never looser. Paths arrive normalized (no
// "." or ".." segments, no empty ones).
int openNoSymlinks(int rootFd, std::string_view path) {
  UniqueFd dir(::openat(rootFd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  size_t start = 0;
  while (dir && !path.empty()) {
    size_t slash = path.find('/', start);
    bool last = slash == std::string_view::npos;
    std::string part(path.substr(start, last ? std::string_view::npos : slash - start));
    int flags = last ? O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW
                     : O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW;
    UniqueFd next(::openat(dir.get(), part.c_str(), flags));
    if (last) return next.release();  // closing `dir` keeps openat's errno (see UniqueFd::reset)
    dir = std::move(next);
    start = slash + 1;
  }
  if (!dir) return -1;
  return ::openat(dir.get(), ".", O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // the root itself
}

// openat2 with RESOLVE_BENEATH: the kernel refuses any resolution (.., absolute or escaping
// symlinks, magic links) that would leave the root, closing the symlink races a user-space
// check would have. Called by the worker's pool threads too: the fallback flag is an atomic.
int openBeneath(int rootFd, const char* path) {
  static std::atomic<bool> haveOpenat2{true};
  if (haveOpenat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const char* p = *path == '\0' ? "." : path;
    long fd;
    do {
      fd = ::syscall(SYS_openat2, rootFd, p, &how, sizeof how);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0 || errno != ENOSYS) return static_cast<int>(fd);
    haveOpenat2.store(false, std::memory_order_relaxed);
  }
  return openNoSymlinks(rootFd, path);
}

int statusForErrno(int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
      return 404;
    case EACCES:
    case EPERM:
    case EXDEV:  // resolution would leave the root
    case ELOOP:
      return 403;
    default:
      return 500;
  }
}

bool sameFile(const FileEntry& e, const struct stat& st) {
  return e.ino == st.st_ino && e.dev == st.st_dev && e.size == static_cast<uint64_t>(st.st_size) &&
         e.mtime == st.st_mtim.tv_sec;
}

}  // namespace

FileCache::~FileCache() = default;

void probeFile(int rootFd, const char* path, FileProbe* out) {
  *out = FileProbe{};
  UniqueFd fd(openBeneath(rootFd, path));
  if (!fd) {
    out->err = errno;
    out->status = statusForErrno(out->err);
    return;
  }
  if (::fstat(fd.get(), &out->st) != 0) {
    out->err = errno;
    out->status = 500;
    return;
  }
  if (!S_ISDIR(out->st.st_mode) && !S_ISREG(out->st.st_mode)) {
    out->status = 403;  // devices, fifos, sockets are never served
    return;
  }
  uint64_t size = static_cast<uint64_t>(out->st.st_size);
  if (S_ISREG(out->st.st_mode) && size <= FileCache::kSmallFile && size > 0) {
    out->data = new char[size];
    ssize_t got = ::pread(fd.get(), out->data, size, 0);
    if (got != static_cast<ssize_t>(size)) {  // changed under us: use sendfile
      delete[] out->data;
      out->data = nullptr;
    }
  }
  out->fd = fd.release();
}

void discardProbe(FileProbe* p) {
  UniqueFd owned(p->fd);
  delete[] p->data;
  *p = FileProbe{};
}

void FileCache::load(FileEntry* e, int64_t nowMs) {
  FileProbe p;
  probeFile(rootFd_, e->path.c_str(), &p);
  apply(e, &p, nowMs);
}

void FileCache::apply(FileEntry* e, FileProbe* p, int64_t nowMs) {
  e->checkedMs = nowMs;
  e->status = p->status;
  e->err = p->err;
  e->fd.reset(p->fd);
  e->data.reset(p->data);
  const struct stat st = p->st;
  *p = FileProbe{};
  if (e->status != 0) return;
  e->isDir = S_ISDIR(st.st_mode);
  e->size = static_cast<uint64_t>(st.st_size);
  e->mtime = st.st_mtim.tv_sec;
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  if (e->isDir) return;

  char buf[64];
  int n = ::snprintf(buf, sizeof buf, "\"%llx-%llx\"", static_cast<unsigned long long>(e->mtime),
                     static_cast<unsigned long long>(e->size));
  e->etag.assign(buf, static_cast<size_t>(n));
  char date[kHttpDateLen];
  formatHttpDate(e->mtime, date);
  e->lastModified.assign(date, kHttpDateLen);
  e->mime = mimeTypeFor(e->path);
  e->validatorLines = "ETag: " + e->etag + "\r\nLast-Modified: " + e->lastModified + "\r\n";
  e->typeLine = "Content-Type: " + std::string(e->mime) + "\r\n";
}

bool FileCache::stillValid(FileEntry* e, int64_t nowMs) {
  if (nowMs - e->checkedMs < 1000) return true;
  struct stat st;
  const char* p = e->path.empty() ? "." : e->path.c_str();
  if (::fstatat(rootFd_, p, &st, 0) != 0) {
    // Still missing (or still refused) is a valid negative entry; otherwise reload.
    bool valid = e->status != 0 && statusForErrno(errno) == e->status;
    if (valid) e->checkedMs = nowMs;
    return valid;
  }
  if (e->status == 0 && sameFile(*e, st)) {
    e->checkedMs = nowMs;
    return true;
  }
  return false;
}

FileEntry* FileCache::acquire(std::string_view path, int64_t nowMs) {
  auto it = map_.find(path);
  if (it != map_.end()) {
    FileEntry* e = it->second.get();
    if (stillValid(e, nowMs)) {
      ++e->refs;
      return e;
    }
  }
  FileEntry* e = fresh(it, path);
  load(e, nowMs);
  ++e->refs;
  return e;
}

FileEntry* FileCache::tryAcquire(std::string_view path, int64_t nowMs) {
  auto it = map_.find(path);
  if (it == map_.end()) return nullptr;
  FileEntry* e = it->second.get();
  if (!stillValid(e, nowMs)) return nullptr;
  ++e->refs;
  return e;
}

void FileCache::install(std::string_view path, FileProbe* probe, int64_t nowMs) {
  apply(fresh(map_.find(path), path), probe, nowMs);
}

// The entry to (re)load for `path` (`it` is its map position or end()): the old one in place when
// no response uses it; otherwise the old one lives on, evicted, and a new one takes its place.
FileEntry* FileCache::fresh(Map::iterator it, std::string_view path) {
  if (it != map_.end()) {
    FileEntry* e = it->second.get();
    if (e->refs == 0) return e;
    e->evicted = true;
    it->second.release();
    map_.erase(it);
  }
  if (map_.size() >= kMaxEntries) evictUnused();
  auto entry = std::make_unique<FileEntry>();
  entry->path.assign(path);
  FileEntry* e = entry.get();
  map_.emplace(e->path, std::move(entry));
  return e;
}

void FileCache::release(FileEntry* e) {
  if (--e->refs == 0 && e->evicted) delete e;
}

void FileCache::evictUnused() {
  for (auto it = map_.begin(); it != map_.end();) {
    if (it->second->refs == 0) {
      it = map_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace hs
