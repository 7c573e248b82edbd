// The file work a worker gives its thread pool, run through a real pool: open tasks probe on a
// pool thread and are installed on the caller's thread; read-ahead tasks hold their entry until
// they are finished. Also built with ThreadSanitizer (make test-tsan).
#include "FileTask.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "FileCache.h"
#include "ThreadPool.h"

namespace hs {
namespace {

class FileTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/file_task_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    write("a.txt", "hello world");
    write("big.bin", std::string(FileCache::kSmallFile + 1, 'b'));
    ASSERT_EQ(::mkdir((root_ + "/dir").c_str(), 0755), 0);
    rootFd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootFd_.valid());
    cache_ = std::make_unique<FileCache>(rootFd_.get());
  }
  void TearDown() override {
    cache_.reset();
    std::filesystem::remove_all(root_);
  }
  void write(const std::string& rel, const std::string& content) {
    std::ofstream out(root_ + "/" + rel, std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good());
  }
  // Waits for `n` completions and hands each to onDone.
  template <typename F>
  size_t collect(ThreadPool& pool, size_t n, F onDone) {
    size_t got = 0;
    for (int rounds = 0; got < n && rounds < 100; ++rounds) {
      pollfd p{pool.eventFd(), POLLIN, 0};
      if (::poll(&p, 1, 100) == 1) got += pool.collect(onDone);
    }
    return got;
  }

  std::string root_;
  UniqueFd rootFd_;
  std::unique_ptr<FileCache> cache_;
};

TEST_F(FileTaskTest, OpenTasksProbeOffThreadAndInstallInTheirCache) {
  struct Case {
    const char* name;
    const char* path;
    int status;
    bool isDir;
    uint64_t size;
    bool inMemory;
  } cases[] = {
      {"small file", "a.txt", 0, false, 11, true},
      {"large file", "big.bin", 0, false, FileCache::kSmallFile + 1, false},
      {"directory", "dir", 0, true, 0, false},
      {"the root", "", 0, true, 0, false},
      {"missing", "nope.txt", 404, false, 0, false},
  };
  ThreadPool pool(2, 8);
  for (const Case& c : cases) {
    PoolTask* t = pool.acquire();
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(prepareFileTask(t, this, cache_.get(), c.path, 7, 3));
    pool.submit(t);
  }
  EXPECT_EQ(cache_->size(), 0u) << "nothing is installed before completion";
  size_t got = collect(pool, std::size(cases), [&](PoolTask& t) {
    EXPECT_EQ(t.kind, kOpenTask);
    EXPECT_EQ(t.owner, this);
    EXPECT_EQ(t.slot, 7u);
    EXPECT_EQ(t.generation, 3u);
    FileTask& f = t.as<FileTask>();
    f.cache->install(f.pathView(), &f.probe, 1000);
    EXPECT_EQ(f.probe.fd, -1) << "the cache took the fd over";
  });
  ASSERT_EQ(got, std::size(cases));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    FileEntry* e = cache_->tryAcquire(c.path, 1000);
    ASSERT_NE(e, nullptr) << "installed";
    EXPECT_EQ(e->status, c.status);
    if (c.status == 0) {
      EXPECT_EQ(e->isDir, c.isDir);
      if (!c.isDir) {
        EXPECT_EQ(e->size, c.size);
      }
      EXPECT_EQ(e->data != nullptr, c.inMemory);
      EXPECT_TRUE(e->fd.valid());
    }
    cache_->release(e);
  }
}

TEST_F(FileTaskTest, APathTooLongForATaskIsRefused) {
  ThreadPool pool(1, 1);
  PoolTask* t = pool.acquire();
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(
      prepareFileTask(t, this, cache_.get(), std::string(FileTask::kMaxPath + 1, 'a'), 0, 0));
  EXPECT_TRUE(prepareFileTask(t, this, cache_.get(), std::string(FileTask::kMaxPath, 'a'), 0, 0));
  pool.abandon(t);
}

TEST_F(FileTaskTest, AnUnusedProbeIsDiscardedWithoutLeaks) {
  FileProbe p;
  probeFile(rootFd_.get(), "a.txt", &p);
  ASSERT_GE(p.fd, 0);
  ASSERT_NE(p.data, nullptr);
  const int fd = p.fd;
  discardProbe(&p);
  EXPECT_EQ(p.fd, -1);
  EXPECT_EQ(p.data, nullptr);
  EXPECT_EQ(::fcntl(fd, F_GETFD), -1) << "the fd was closed";
}

// A read-ahead holds a reference on its entry while it runs, so the fd outlives a response that
// goes away; finishing it gives the reference back. Afterwards the window is resident.
TEST_F(FileTaskTest, ReadAheadHoldsItsEntryUntilFinished) {
  FileEntry* e = cache_->acquire("big.bin", 1000);
  ASSERT_EQ(e->status, 0);
  ThreadPool pool(1, 2);
  PoolTask* t = pool.acquire();
  ASSERT_NE(t, nullptr);
  prepareReadAhead(t, cache_.get(), e, 0, e->size, 4, 9);
  EXPECT_EQ(e->refs, 2u);
  pool.submit(t);
  size_t got = collect(pool, 1, [&](PoolTask& done) {
    EXPECT_EQ(done.kind, kReadAheadTask);
    EXPECT_EQ(done.slot, 4u);
    finishReadAhead(done);
  });
  ASSERT_EQ(got, 1u);
  EXPECT_EQ(e->refs, 1u);
  EXPECT_TRUE(pagesResident(e->fd.get(), 0, e->size));
  EXPECT_TRUE(pagesResident(e->fd.get(), 0, 0)) << "an empty window is always resident";
  cache_->release(e);
}

}  // namespace
}  // namespace hs
