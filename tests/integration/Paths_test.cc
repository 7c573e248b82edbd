// Path security against a document root built here: traversal, encoded separators, NUL, hidden
// files and symlinks that lead out of the root must never expose what lies outside.
#include <unistd.h>

#include <filesystem>
#include <set>

#include "TestServer.h"

namespace hs::integration {
namespace {

constexpr const char* kOutside = "outside content 7f3a91 must never be served\n";
constexpr const char* kA = "file a inside the root\n";
constexpr const char* kB = "file b in sub\n";

class PathsTest : public ServerTest {
 protected:
  // <tmp>/outside.txt next to <tmp>/root/{a.txt, sub/b.txt, .hidden, .git/config, inside -> a.txt,
  // escape -> /etc/passwd, escdir -> /etc}.
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    root_ = dir_.path() + "/root";
    namespace fs = std::filesystem;
    fs::create_directories(root_ + "/sub");
    fs::create_directories(root_ + "/.git");
    ASSERT_TRUE(writeFile(dir_.path() + "/outside.txt", kOutside));
    ASSERT_TRUE(writeFile(root_ + "/a.txt", kA));
    ASSERT_TRUE(writeFile(root_ + "/sub/b.txt", kB));
    ASSERT_TRUE(writeFile(root_ + "/.hidden", "hidden\n"));
    ASSERT_TRUE(writeFile(root_ + "/.git/config", "[core]\n"));
    ASSERT_EQ(symlink("a.txt", (root_ + "/inside").c_str()), 0);
    ASSERT_EQ(symlink("/etc/passwd", (root_ + "/escape").c_str()), 0);
    ASSERT_EQ(symlink("/etc", (root_ + "/escdir").c_str()), 0);
    ServerOptions opts;
    opts.root = root_;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  Response get(const std::string& target) {
    Client c(port());
    if (!c.ok()) {
      Response r;
      r.error = "connect failed";
      return r;
    }
    return c.exchange(getRequest(target));
  }

  TempDir dir_;
  std::string root_;
};

TEST_F(PathsTest, TraversalNeverReachesOutside) {
  for (const char* target : {"/../outside.txt", "/%2e%2e/outside.txt", "/sub/../../outside.txt",
                             "/%2E%2E/%2E%2E/outside.txt", "/sub/%2e%2e/%2e%2e/outside.txt"}) {
    SCOPED_TRACE(target);
    Response r = get(target);
    EXPECT_TRUE(std::set<int>({400, 403, 404}).count(r.status)) << r.describe();
    EXPECT_EQ(r.body.find("7f3a91"), std::string::npos) << "outside file leaked";
  }
}

TEST_F(PathsTest, SymlinksOutOfRootAreRefused) {
  std::string passwd = readFile("/etc/passwd").value_or("root:");
  for (const char* target : {"/escape", "/escdir/passwd"}) {
    SCOPED_TRACE(target);
    Response r = get(target);
    EXPECT_TRUE(r.status == 403 || r.status == 404) << r.describe();
    EXPECT_EQ(r.body.find(passwd.substr(0, 5)), std::string::npos) << "/etc/passwd leaked";
  }
}

TEST_F(PathsTest, SymlinkInsideRootIsServed) {
  Response r = get("/inside");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.body, kA);
}

TEST_F(PathsTest, EncodedSlashAndNulAre400) {
  for (const char* target : {"/%2Fetc/passwd", "/a.txt%00.html"}) {
    SCOPED_TRACE(target);
    Response r = get(target);
    EXPECT_EQ(r.status, 400) << r.describe();
  }
}

TEST_F(PathsTest, HiddenFilesAre404) {
  for (const char* target : {"/.hidden", "/.git/config"}) {
    SCOPED_TRACE(target);
    Response r = get(target);
    EXPECT_EQ(r.status, 404) << r.describe();
  }
}

TEST_F(PathsTest, DotAndDoubleSlashSegmentsAreNormalized) {
  for (const char* target : {"/sub/./b.txt", "//sub//b.txt", "/a.txt"}) {
    SCOPED_TRACE(target);
    Response r = get(target);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.body, target == std::string("/a.txt") ? kA : kB);
  }
}

TEST_F(PathsTest, RawTraversalGetsNoOutsideBytes) {
  std::string out =
      rawExchange(port(), "GET /../outside.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_FALSE(out.empty()) << "no answer at all";
  EXPECT_EQ(out.find("7f3a91"), std::string::npos) << out;
}

}  // namespace
}  // namespace hs::integration
