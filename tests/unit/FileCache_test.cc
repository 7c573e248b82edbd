#include "FileCache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "HttpDate.h"

namespace hs {
namespace {

// A temporary directory holding "root/" (the document root) and "outside" (a file next to it that
// no path under the root may reach). Removed with everything in it at the end.
class FileCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/filecache_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    write("../outside", "secret");
    rootFd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootFd_.valid());
  }
  void TearDown() override {
    if (!base_.empty()) std::filesystem::remove_all(base_);
  }

  // Writes `content` to root/rel (replacing the file's contents in place).
  void write(const std::string& rel, const std::string& content) {
    std::ofstream out(root_ + "/" + rel, std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good());
  }
  // Replaces root/rel with a new file (a new inode), as an editor or a deploy does.
  void replace(const std::string& rel, const std::string& content) {
    write(rel + ".tmp", content);
    ASSERT_EQ(::rename((root_ + "/" + rel + ".tmp").c_str(), (root_ + "/" + rel).c_str()), 0);
  }
  void symlink(const std::string& target, const std::string& rel) {
    ASSERT_EQ(::symlink(target.c_str(), (root_ + "/" + rel).c_str()), 0);
  }
  static std::string readAt(int fd, size_t n) {
    std::string s(n, '\0');
    ssize_t got = ::pread(fd, s.data(), n, 0);
    s.resize(got > 0 ? static_cast<size_t>(got) : 0);
    return s;
  }

  std::string base_, root_;
  UniqueFd rootFd_;
};

// True for "\"hex-hex\"" (quotes included).
bool isHexPairEtag(const std::string& s) {
  if (s.size() < 5 || s.front() != '"' || s.back() != '"') return false;
  std::string inner = s.substr(1, s.size() - 2);
  size_t dash = inner.find('-');
  if (dash == 0 || dash == std::string::npos || dash + 1 == inner.size()) return false;
  inner.erase(dash, 1);
  return inner.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Acquires and releases at once, returning the status (for checks that need nothing else).
int statusOf(FileCache& cache, std::string_view path, int64_t nowMs) {
  FileEntry* e = cache.acquire(path, nowMs);
  int status = e->status;
  cache.release(e);
  return status;
}

TEST_F(FileCacheTest, RegularFileHasMetadataAndSmallDataInMemory) {
  write("a.txt", "hello, world\n");
  FileCache cache(rootFd_.get());
  FileEntry* e = cache.acquire("a.txt", 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->status, 0);
  EXPECT_FALSE(e->isDir);
  EXPECT_TRUE(e->fd.valid());
  EXPECT_EQ(e->size, 13u);
  EXPECT_EQ(e->path, "a.txt");
  EXPECT_EQ(e->refs, 1u);
  EXPECT_TRUE(isHexPairEtag(e->etag)) << e->etag;
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/a.txt").c_str(), &st), 0);
  char expected[64];
  std::snprintf(expected, sizeof expected, "\"%llx-%llx\"",
                static_cast<unsigned long long>(st.st_mtime),
                static_cast<unsigned long long>(st.st_size));
  EXPECT_EQ(e->etag, expected);  // nginx's mtime-size
  EXPECT_EQ(e->mtime, st.st_mtime);
  ASSERT_EQ(e->lastModified.size(), kHttpDateLen);
  char date[kHttpDateLen];
  formatHttpDate(st.st_mtime, date);
  EXPECT_EQ(e->lastModified, std::string(date, kHttpDateLen));
  EXPECT_EQ(e->mime, "text/plain; charset=utf-8");
  ASSERT_NE(e->data, nullptr);
  EXPECT_EQ(std::string(e->data.get(), e->size), "hello, world\n");
  EXPECT_EQ(readAt(e->fd.get(), 64), "hello, world\n");
  cache.release(e);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(FileCacheTest, DataKeptUpToSmallFileLimitOnly) {
  struct Case {
    const char* name;
    uint64_t size;
    bool inMemory;
  } cases[] = {
      {"empty.bin", 0, false},
      {"limit.bin", FileCache::kSmallFile, true},
      {"big.bin", FileCache::kSmallFile + 1, false},
  };
  FileCache cache(rootFd_.get());
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    write(c.name, std::string(c.size, 'x'));
    FileEntry* e = cache.acquire(c.name, 0);
    EXPECT_EQ(e->status, 0);
    EXPECT_EQ(e->size, c.size);
    EXPECT_EQ(e->data != nullptr, c.inMemory);
    EXPECT_EQ(e->mime, "application/octet-stream");
    cache.release(e);
  }
}

TEST_F(FileCacheTest, MimeFollowsExtension) {
  write("page.html", "<p>");
  write("style.css", "p{}");
  FileCache cache(rootFd_.get());
  FileEntry* html = cache.acquire("page.html", 0);
  FileEntry* css = cache.acquire("style.css", 0);
  EXPECT_EQ(html->mime, "text/html; charset=utf-8");
  EXPECT_NE(css->mime.find("text/css"), std::string_view::npos);
  cache.release(html);
  cache.release(css);
}

TEST_F(FileCacheTest, MissingIs404) {
  FileCache cache(rootFd_.get());
  FileEntry* e = cache.acquire("nope.html", 0);
  EXPECT_EQ(e->status, 404);
  EXPECT_EQ(e->err, ENOENT);
  EXPECT_FALSE(e->fd.valid());
  cache.release(e);
  EXPECT_EQ(statusOf(cache, "dir/nope.html", 0), 404);
  write("file.txt", "x");
  EXPECT_EQ(statusOf(cache, "file.txt/below", 0), 404);  // ENOTDIR
}

TEST_F(FileCacheTest, DirectoriesAndRoot) {
  ASSERT_EQ(::mkdir((root_ + "/sub").c_str(), 0755), 0);
  FileCache cache(rootFd_.get());
  for (const char* path : {"sub", ""}) {
    SCOPED_TRACE(path);
    FileEntry* e = cache.acquire(path, 0);
    EXPECT_EQ(e->status, 0);
    EXPECT_TRUE(e->isDir);
    EXPECT_TRUE(e->fd.valid());
    EXPECT_EQ(e->data, nullptr);
    cache.release(e);
  }
}

TEST_F(FileCacheTest, SymlinksInsideTheRootAreFollowed) {
  write("a.txt", "inside");
  ASSERT_EQ(::mkdir((root_ + "/sub").c_str(), 0755), 0);
  symlink("a.txt", "link.txt");
  symlink("../a.txt", "sub/up.txt");  // ".." that stays beneath the root
  symlink("sub", "sublink");
  FileCache cache(rootFd_.get());
  for (const char* path : {"link.txt", "sub/up.txt"}) {
    SCOPED_TRACE(path);
    FileEntry* e = cache.acquire(path, 0);
    EXPECT_EQ(e->status, 0);
    EXPECT_EQ(e->size, 6u);
    cache.release(e);
  }
  FileEntry* d = cache.acquire("sublink", 0);
  EXPECT_EQ(d->status, 0);
  EXPECT_TRUE(d->isDir);
  cache.release(d);
}

TEST_F(FileCacheTest, EscapesFromTheRootAreRefused) {
  symlink("/etc/passwd", "passwd");
  symlink("/etc", "etc");
  symlink("../outside", "outside-link");
  ASSERT_EQ(::mkdir((root_ + "/sub").c_str(), 0755), 0);
  symlink("../../outside", "sub/deep-link");
  FileCache cache(rootFd_.get());
  struct Case {
    const char* path;
    bool exactly403;
  } cases[] = {
      {"passwd", true},        {"etc/passwd", true},  {"outside-link", true},
      {"sub/deep-link", true}, {"../outside", false}, {"sub/../../outside", false},
      {"/etc/passwd", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    FileEntry* e = cache.acquire(c.path, 0);
    if (c.exactly403) {
      EXPECT_EQ(e->status, 403);
      EXPECT_TRUE(e->err == EXDEV || e->err == ELOOP) << e->err;  // ELOOP without openat2
    } else {
      EXPECT_TRUE(e->status == 403 || e->status == 404) << e->status;
    }
    EXPECT_FALSE(e->fd.valid());
    cache.release(e);
  }
}

TEST_F(FileCacheTest, FifoIsRefusedWithoutBlocking) {
  ASSERT_EQ(::mkfifo((root_ + "/pipe").c_str(), 0644), 0);
  FileCache cache(rootFd_.get());
  FileEntry* e = cache.acquire("pipe", 0);
  EXPECT_EQ(e->status, 403);
  EXPECT_EQ(e->err, 0);  // not an open failure: a FIFO is never served
  EXPECT_FALSE(e->fd.valid());
  cache.release(e);
}

TEST_F(FileCacheTest, RevalidatesAtMostOncePerSecond) {
  write("f.txt", "1234");
  FileCache cache(rootFd_.get());
  FileEntry* first = cache.acquire("f.txt", 0);
  ASSERT_EQ(first->status, 0);
  EXPECT_EQ(first->size, 4u);
  std::string oldEtag = first->etag;
  cache.release(first);

  write("f.txt", "123456789");  // same inode, new size
  FileEntry* e = cache.acquire("f.txt", 500);
  EXPECT_EQ(e, first);
  EXPECT_EQ(e->size, 4u);  // not checked again within the second
  EXPECT_EQ(e->etag, oldEtag);
  cache.release(e);

  e = cache.acquire("f.txt", 1001);
  EXPECT_EQ(e->status, 0);
  EXPECT_EQ(e->size, 9u);
  EXPECT_NE(e->etag, oldEtag);
  ASSERT_NE(e->data, nullptr);
  EXPECT_EQ(std::string(e->data.get(), e->size), "123456789");
  cache.release(e);

  ASSERT_EQ(::unlink((root_ + "/f.txt").c_str()), 0);
  e = cache.acquire("f.txt", 1500);
  EXPECT_EQ(e->status, 0);  // still within the second of the last check
  cache.release(e);
  e = cache.acquire("f.txt", 2500);
  EXPECT_EQ(e->status, 404);
  EXPECT_FALSE(e->fd.valid());
  cache.release(e);
}

TEST_F(FileCacheTest, UnchangedFileIsNotReloaded) {
  write("f.txt", "abc");
  FileCache cache(rootFd_.get());
  FileEntry* e = cache.acquire("f.txt", 0);
  const char* data = e->data.get();
  int fd = e->fd.get();
  cache.release(e);
  for (int64_t t = 1000; t <= 10'000; t += 1000) {
    e = cache.acquire("f.txt", t);
    EXPECT_EQ(e->data.get(), data);
    EXPECT_EQ(e->fd.get(), fd);
    EXPECT_EQ(e->checkedMs, t);
    cache.release(e);
  }
}

TEST_F(FileCacheTest, MissingPathsAreCachedToo) {
  FileCache cache(rootFd_.get());
  EXPECT_EQ(statusOf(cache, "late.txt", 0), 404);
  write("late.txt", "here now");
  EXPECT_EQ(statusOf(cache, "late.txt", 999), 404);  // negative entry still fresh
  FileEntry* e = cache.acquire("late.txt", 1000);
  EXPECT_EQ(e->status, 0);
  EXPECT_EQ(e->size, 8u);
  cache.release(e);
  EXPECT_EQ(cache.size(), 1u);
}

TEST_F(FileCacheTest, TypeChangeIsNoticed) {
  write("x", "file");
  FileCache cache(rootFd_.get());
  EXPECT_EQ(statusOf(cache, "x", 0), 0);
  ASSERT_EQ(::unlink((root_ + "/x").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/x").c_str(), 0644), 0);
  EXPECT_EQ(statusOf(cache, "x", 1000), 403);
}

TEST_F(FileCacheTest, HeldEntryOutlivesReplacementOfItsFile) {
  write("f.txt", "old contents");
  FileCache cache(rootFd_.get());
  FileEntry* held = cache.acquire("f.txt", 0);
  ASSERT_EQ(held->status, 0);
  ASSERT_EQ(held->size, 12u);

  replace("f.txt", "new, longer contents");
  FileEntry* fresh = cache.acquire("f.txt", 1000);
  ASSERT_NE(fresh, held);
  EXPECT_EQ(fresh->status, 0);
  EXPECT_EQ(fresh->size, 20u);
  EXPECT_EQ(readAt(fresh->fd.get(), 64), "new, longer contents");
  EXPECT_EQ(cache.size(), 1u);

  // The holder still sees the old file, through both its fd and its in-memory copy.
  EXPECT_TRUE(held->evicted);
  EXPECT_EQ(held->size, 12u);
  EXPECT_EQ(readAt(held->fd.get(), 64), "old contents");
  ASSERT_NE(held->data, nullptr);
  EXPECT_EQ(std::string(held->data.get(), held->size), "old contents");
  cache.release(held);  // frees the evicted entry (ASan reports a leak or a later use otherwise)

  FileEntry* again = cache.acquire("f.txt", 1500);
  EXPECT_EQ(again, fresh);
  EXPECT_EQ(again->refs, 2u);
  cache.release(again);
  cache.release(fresh);
}

TEST_F(FileCacheTest, EvictedEntryWithSeveralHoldersLivesUntilTheLast) {
  write("f.txt", "v1");
  FileCache cache(rootFd_.get());
  FileEntry* a = cache.acquire("f.txt", 0);
  FileEntry* b = cache.acquire("f.txt", 10);
  ASSERT_EQ(a, b);
  replace("f.txt", "v2!");
  FileEntry* fresh = cache.acquire("f.txt", 2000);
  ASSERT_NE(fresh, a);
  cache.release(a);
  EXPECT_EQ(readAt(b->fd.get(), 8), "v1");  // still alive for the second holder
  cache.release(b);
  cache.release(fresh);
}

TEST_F(FileCacheTest, FullCacheEvictsUnusedEntries) {
  write("kept.txt", "k");
  FileCache cache(rootFd_.get());
  FileEntry* kept = cache.acquire("kept.txt", 0);
  for (size_t i = 0; cache.size() < FileCache::kMaxEntries; ++i) {
    ASSERT_LT(i, 2 * FileCache::kMaxEntries);
    EXPECT_EQ(statusOf(cache, "missing-" + std::to_string(i), 0), 404);
  }
  EXPECT_EQ(statusOf(cache, "one-more", 0), 404);
  EXPECT_LT(cache.size(), FileCache::kMaxEntries);
  EXPECT_EQ(cache.size(), 2u);  // the held entry and the new one
  EXPECT_EQ(kept->refs, 1u);
  EXPECT_EQ(readAt(kept->fd.get(), 8), "k");
  cache.release(kept);
  FileEntry* again = cache.acquire("kept.txt", 0);
  EXPECT_EQ(again, kept);
  cache.release(again);
}

}  // namespace
}  // namespace hs
