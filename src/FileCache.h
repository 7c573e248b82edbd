// Per-worker cache of open files under the document root: fd, stat, validators and a prebuilt block
// of representation metadata, plus the bytes of small files. An entry is revalidated by stat at
// most once a second, so a changed, replaced or deleted file is noticed within a second. Lookups of
// missing paths are cached the same way. Owns the fds and memory of its entries; entries in use by
// a response are reference counted and outlive their eviction.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "UniqueFd.h"

namespace hs {

// The blocking half of loading an entry: the file opened beneath the root, its stat, and the bytes
// of a small file. probeFile() fills it on any thread; FileCache::install() takes it over on the
// worker's thread. Trivially destructible, so it can travel in a thread-pool task: whoever holds it
// owns `fd` and `data` until discardProbe() or install().
struct FileProbe {
  int fd = -1;
  int err = 0;     // errno of the failed open or fstat
  int status = 0;  // 0: opened; otherwise 403/404/500
  struct stat st {};
  char* data = nullptr;  // new[]: the whole file when it is small (size <= FileCache::kSmallFile)
};

// Opens `path` (normalized, relative, NUL-terminated; "" is the root) beneath `rootFd` and fills
// *out. Blocks on the disk; safe on any thread.
void probeFile(int rootFd, const char* path, FileProbe* out);
void discardProbe(FileProbe* p);

struct FileEntry {
  std::string path;  // relative to the root ("" is the root)
  int status = 0;    // 0: opened; otherwise 403/404/500 for this path
  int err = 0;       // with a status: the errno of the failed open or fstat; 0 for a 403 that
                     // names a device, FIFO or socket (never served)
  UniqueFd fd;
  bool isDir = false;
  uint64_t size = 0;
  time_t mtime = 0;
  dev_t dev = 0;
  ino_t ino = 0;
  int64_t checkedMs = 0;  // last stat
  std::string etag;       // "\"mtime-size\"" in hex, with quotes
  std::string lastModified;
  std::string_view mime;
  // Head lines prebuilt at load, so a response copies each with one append:
  std::string validatorLines;    // "ETag: ...\r\nLast-Modified: ...\r\n"
  std::string typeLine;          // "Content-Type: ...\r\n"
  std::unique_ptr<char[]> data;  // the whole file when size <= kSmallFile
  bool hasVariant = false;       // a .br/.gz sibling exists (see StaticFileHandler::hasVariant)
  int64_t variantCheckedMs = 0;
  uint32_t refs = 0;
  bool evicted = false;  // removed from the map while referenced; freed on the last release
};

class FileCache {
 public:
  static constexpr uint64_t kSmallFile = 32 * 1024;
  static constexpr size_t kMaxEntries = 4096;

  // `rootFd` is borrowed (an O_PATH directory fd).
  explicit FileCache(int rootFd) : rootFd_(rootFd) {}
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // Returns the entry for `path` (relative, normalized), with a reference the caller must release.
  // Never returns nullptr; check entry->status.
  FileEntry* acquire(std::string_view path, int64_t nowMs);
  void release(FileEntry* e);
  // One more reference on an entry already held (a read-ahead task keeps the fd open).
  static void retain(FileEntry* e) { ++e->refs; }
  // With a worker thread pool: the entry for `path` with a reference if it is cached and still
  // valid (the once-a-second revalidation stat is made here, as in acquire()); nullptr when it must
  // be loaded (probe it off the reactor and install() the result).
  FileEntry* tryAcquire(std::string_view path, int64_t nowMs);
  // Makes the probe the entry for `path` (replacing an older one, which lives on while in use),
  // checked at nowMs. Takes over the probe's fd and data.
  void install(std::string_view path, FileProbe* probe, int64_t nowMs);

  int rootFd() const { return rootFd_; }
  size_t size() const { return map_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Map = std::unordered_map<std::string, std::unique_ptr<FileEntry>, Hash, std::equal_to<>>;

  void load(FileEntry* e, int64_t nowMs);
  void apply(FileEntry* e, FileProbe* probe, int64_t nowMs);
  FileEntry* fresh(Map::iterator it, std::string_view path);
  bool stillValid(FileEntry* e, int64_t nowMs);
  void evictUnused();

  int rootFd_;
  Map map_;
};

}  // namespace hs
