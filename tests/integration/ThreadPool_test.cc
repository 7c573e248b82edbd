// The worker's thread pool seen from outside: the slow filesystem fixture, and a reactor that keeps
// serving hot files while cold ones are opened and read on a slow disk.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "SlowFs.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

// A FUSE fixture over `dir`/src mounted at `dir`/mnt, or a skip reason.
struct SlowRoot {
  TempDir dir;
  SlowFs fs;  // declared after dir: unmounted before the directory is removed
  std::string src, mnt;

  std::string start() {
    std::string why = SlowFs::unavailable();
    if (!why.empty()) return why;
    src = dir.path() + "/src";
    mnt = dir.path() + "/mnt";
    ::chmod(dir.path().c_str(), 0755);
    ::mkdir(src.c_str(), 0755);
    ::mkdir(mnt.c_str(), 0755);
    return "";
  }
  bool mount(int delayMs, std::string* why) { return fs.mount(src, mnt, delayMs, why); }
};

TEST(SlowFsTest, FixtureDelaysEachOperationAndPassesContentThrough) {
  SlowRoot root;
  std::string skip = root.start();
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;
  std::string content(100000, 'x');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(writeFile(root.src + "/file", content));
  std::string why;
  ASSERT_TRUE(root.mount(100, &why)) << why;

  auto t0 = Clock::now();
  struct stat st;
  ASSERT_EQ(::stat((root.mnt + "/file").c_str(), &st), 0);
  EXPECT_GE(msSince(t0), 100) << "getattr waits the delay";
  EXPECT_EQ(st.st_size, static_cast<off_t>(content.size()));
  t0 = Clock::now();
  std::optional<std::string> got = readFile(root.mnt + "/file");
  EXPECT_GE(msSince(t0), 200) << "open and read each wait the delay";
  ASSERT_TRUE(got.has_value());
  EXPECT_TRUE(*got == content) << "the content passes through unchanged";
  int wfd = ::open((root.mnt + "/file").c_str(), O_WRONLY | O_CLOEXEC);
  EXPECT_LT(wfd, 0) << "read-only";
  if (wfd >= 0) ::close(wfd);

  root.fs.unmount();
  EXPECT_NE(::stat((root.mnt + "/file").c_str(), &st), 0) << "unmounted: the mountpoint is empty";
}

}  // namespace
}  // namespace hs::integration
