// The worker's thread pool seen from outside: the slow filesystem fixture, and a reactor that keeps
// serving hot files while cold ones are opened and read on a slow disk.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

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

// Distinct content per name, `size` bytes.
std::string contentFor(const std::string& name, size_t size) {
  std::string s(size, ' ');
  for (size_t i = 0; i < size; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + name.size() + name.back()) % 26);
  s.replace(0, std::min(name.size(), size), name.substr(0, size));
  return s;
}

std::vector<std::string> coldNames(const std::string& prefix, int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(prefix + std::to_string(i) + ".bin");
  return v;
}

// A served root whose "slow/" directory is the slow filesystem; everything else is a plain
// directory (the fast root of the hot file).
class PoolServerTest : public ServerTest {
 protected:
  void TearDown() override {
    ServerTest::TearDown();
    server_.stop();  // before the mount goes
  }
  // Returns a skip reason, or "" with the tree made and mounted.
  std::string prepare(int delayMs, const std::vector<std::string>& coldNames, size_t coldSize) {
    std::string why = SlowFs::unavailable();
    if (!why.empty()) return why;
    ::chmod(dir_.path().c_str(), 0755);
    www_ = dir_.path() + "/www";
    src_ = dir_.path() + "/src";
    for (const std::string& d : {www_, src_, www_ + "/slow"}) ::mkdir(d.c_str(), 0755);
    hot_ = std::string(1000, 'h');
    if (!writeFile(www_ + "/hot.html", hot_)) return "cannot write the fixture";
    for (const std::string& n : coldNames) {
      if (!writeFile(src_ + "/" + n, contentFor(n, coldSize))) return "cannot write the fixture";
    }
    if (!fs_.mount(src_, www_ + "/slow", delayMs, &why)) return "mount failed: " + why;
    return "";
  }
  // One worker with `threads` pool threads; `conf` (ROOT is the test's directory) if not empty.
  void startWithPool(int threads, const std::string& conf = "") {
    std::vector<std::string> args = {"--thread-pool", std::to_string(threads)};
    if (!conf.empty()) {
      std::string text = conf;
      for (size_t at; (at = text.find("ROOT")) != std::string::npos;)
        text.replace(at, 4, dir_.path());
      const std::string file = dir_.path() + "/pool.conf";
      ASSERT_TRUE(writeFile(file, text));
      args.insert(args.end(), {"-c", file});
    }
    ASSERT_NO_FATAL_FAILURE(startSingleWorker(args, 100, www_));
  }
  long long poolNumber(const char* key) {
    Response r = statusJson(port());
    std::optional<long long> v = jsonNumber(r.body, key);
    return v ? *v : -1;
  }

  TempDir dir_;
  SlowFs fs_;  // after dir_: unmounted first
  std::string www_, src_, hot_;
};

struct MixResult {
  long long worstHotMs = -1;
  int hotRequests = 0;
  int coldOk = 0;
  long long coldWallMs = 0;
};

// Clients download a cold target each (targets[i] must answer bodies[i]); meanwhile a keep-alive
// client asks for the hot file over and over. Returns the hot client's worst latency.
MixResult runMix(uint16_t port, const std::vector<std::string>& targets,
                 const std::vector<std::string>& bodies, const std::string& hot) {
  MixResult m;
  std::atomic<int> coldLeft{static_cast<int>(targets.size())};
  std::atomic<int> coldOk{0};
  Client hotClient(port);
  if (!hotClient.ok()) return m;
  // Warm: the hot file is in the worker's cache before the cold clients start.
  for (int i = 0; i < 2; ++i) {
    if (hotClient.exchange(getRequest("/hot.html")).body != hot) return m;
  }
  auto start = Clock::now();
  std::vector<std::thread> cold;
  for (size_t i = 0; i < targets.size(); ++i) {
    cold.emplace_back([&, i] {
      Response r = fetchGet(port, targets[i]);
      if (r.status == 200 && r.body == bodies[i]) coldOk.fetch_add(1);
      coldLeft.fetch_sub(1);
    });
  }
  m.worstHotMs = 0;
  while (coldLeft.load() > 0) {
    auto t0 = Clock::now();
    Response r = hotClient.exchange(getRequest("/hot.html"));
    long long ms = msSince(t0);
    if (r.status != 200 || r.body != hot) {
      m.worstHotMs = -1;
      break;
    }
    m.worstHotMs = std::max(m.worstHotMs, ms);
    ++m.hotRequests;
  }
  for (std::thread& t : cold) t.join();
  m.coldWallMs = msSince(start);
  m.coldOk = coldOk.load();
  return m;
}

MixResult runMix(uint16_t port, const std::vector<std::string>& names, size_t size,
                 const std::string& hot) {
  std::vector<std::string> targets, bodies;
  for (const std::string& n : names) {
    targets.push_back("/slow/" + n);
    bodies.push_back(contentFor(n, size));
  }
  return runMix(port, targets, bodies, hot);
}

// A machine busy with other work can deschedule the hot client itself for a while: when the first
// mix is over the bound, a second one (`again`, on other cold files) tells that from a stall, which
// the reactor would show every time. Returns the better of the two.
template <typename Again>
MixResult betterOfTwo(MixResult first, Again&& again) {
  if (first.worstHotMs >= 0 && first.worstHotMs < scaled(50)) return first;
  std::printf("[ pool ] first run: worst %lld ms; measuring once more\n", first.worstHotMs);
  MixResult second = again();
  return second.worstHotMs >= 0 && second.worstHotMs < first.worstHotMs ? second : first;
}

MixResult runMixTwice(uint16_t port, const std::vector<std::string>& names,
                      const std::vector<std::string>& names2, size_t size, const std::string& hot) {
  return betterOfTwo(runMix(port, names, size, hot),
                     [&] { return runMix(port, names2, size, hot); });
}

// The test: one worker, eight cold downloads from the slow filesystem (60 ms per
// operation), a ninth client asking for a hot file over and over. Without the pool every open
// stalls the reactor; with it the hot file's worst latency stays under 50 ms.
TEST_F(PoolServerTest, HotFileStaysFastWhileColdFilesLoadOnASlowDisk) {
  constexpr int kDelayMs = 60;
  constexpr size_t kSize = 20000;  // read whole by the open task (files up to 32 KiB are)
  std::vector<std::string> without = coldNames("off-", 8), with = coldNames("on-", 8),
                           again = coldNames("again-", 8);
  std::vector<std::string> all = without;
  all.insert(all.end(), with.begin(), with.end());
  all.insert(all.end(), again.begin(), again.end());
  std::string skip = prepare(kDelayMs, all, kSize);
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;

  ASSERT_NO_FATAL_FAILURE(startWithPool(0));
  MixResult off = runMix(port(), without, kSize, hot_);
  EXPECT_EQ(poolNumber("done"), 0) << "thread_pool 0 has no pool";
  server_.stop();
  ASSERT_NO_FATAL_FAILURE(startWithPool(8));
  MixResult on = runMixTwice(port(), with, again, kSize, hot_);

  std::printf(
      "[ pool ] worst hot-file latency: thread_pool 0: %lld ms (%d requests, cold wall %lld "
      "ms); thread_pool 8: %lld ms (%d requests, cold wall %lld ms)\n",
      off.worstHotMs, off.hotRequests, off.coldWallMs, on.worstHotMs, on.hotRequests,
      on.coldWallMs);
  RecordProperty("worst_hot_ms_pool_0", static_cast<int>(off.worstHotMs));
  RecordProperty("worst_hot_ms_pool_8", static_cast<int>(on.worstHotMs));
  EXPECT_EQ(off.coldOk, 8);
  EXPECT_EQ(on.coldOk, 8);
  ASSERT_GE(off.worstHotMs, 0);
  ASSERT_GE(on.worstHotMs, 0);
  // Without the pool an open (lookup, open, read: three delays) stalls the hot client.
  EXPECT_GE(off.worstHotMs, 2 * kDelayMs) << "the fixture did not stall the reactor";
  EXPECT_LT(on.worstHotMs, scaled(50));
  EXPECT_GE(poolNumber("done"), 8) << "the cold opens went through the pool";
}

// Large files: their bodies are sent with sendfile, which would wait for the slow disk; with the
// pool, each window not in the page cache is read by a pool thread first, so the hot client still
// never waits.
TEST_F(PoolServerTest, LargeColdBodiesAreReadOffTheReactor) {
  constexpr size_t kSize = 1536 * 1024;
  std::vector<std::string> names = coldNames("large-", 3), again = coldNames("large-again-", 3);
  std::vector<std::string> all = names;
  all.insert(all.end(), again.begin(), again.end());
  std::string skip = prepare(30, all, kSize);
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;
  ASSERT_NO_FATAL_FAILURE(startWithPool(4));
  MixResult on = runMixTwice(port(), names, again, kSize, hot_);
  std::printf(
      "[ pool ] large cold bodies: worst hot-file latency %lld ms (%d requests), cold wall "
      "%lld ms\n",
      on.worstHotMs, on.hotRequests, on.coldWallMs);
  EXPECT_EQ(on.coldOk, 3);
  ASSERT_GE(on.worstHotMs, 0);
  EXPECT_LT(on.worstHotMs, scaled(50));
  // Each file: its open, its two sibling lookups, and at least its first 512 KiB window (the
  // kernel's own read-ahead may bring the next ones in).
  EXPECT_GE(poolNumber("done"), 3 * 3 + 3) << "the bodies were not read through the pool";
}

// try_files over the slow filesystem: each candidate that misses is a lookup of its own, so one
// request may need several tasks in turn; the hot client never waits for any of them.
TEST_F(PoolServerTest, TryFilesOverSlowFilesMissesCandidatesOffTheReactor) {
  constexpr size_t kSize = 5000;
  std::vector<std::string> names = coldNames("page-", 8);
  std::vector<std::string> files;
  for (const std::string& n : names) files.push_back(n + ".html");
  std::string skip = prepare(60, files, kSize);
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;
  ASSERT_NO_FATAL_FAILURE(startWithPool(
      4, "server {\n  root ROOT/www;\n  location /slow/ { try_files $uri $uri.html =404; }\n}\n"));
  // Two sets of four (the second measures again on a machine too busy the first time).
  std::vector<std::string> targets[2], bodies[2];
  for (size_t i = 0; i < names.size(); ++i) {
    targets[i / 4].push_back("/slow/" + names[i]);  // $uri misses; $uri.html exists
    bodies[i / 4].push_back(contentFor(files[i], kSize));
  }
  MixResult on = betterOfTwo(runMix(port(), targets[0], bodies[0], hot_),
                             [&] { return runMix(port(), targets[1], bodies[1], hot_); });
  std::printf("[ pool ] try_files over slow files: worst hot-file latency %lld ms (%d requests)\n",
              on.worstHotMs, on.hotRequests);
  EXPECT_EQ(on.coldOk, 4);
  ASSERT_GE(on.worstHotMs, 0);
  EXPECT_LT(on.worstHotMs, scaled(50));
  EXPECT_GE(poolNumber("done"), 4 * 2) << "each request missed two candidates in turn";
  EXPECT_EQ(fetchGet(port(), "/slow/none").status, 404) << "no candidate: =404";
}

// A client that goes away while its open runs: the task's result is still cached, and the worker
// goes on serving (the late completion finds the slot's generation changed).
TEST_F(PoolServerTest, ConnectionClosedWhileItsTaskRuns) {
  std::string skip = prepare(300, {"gone.bin"}, 20000);
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;
  ASSERT_NO_FATAL_FAILURE(startWithPool(2));
  {
    Client c(port());
    ASSERT_TRUE(c.send(getRequest("/slow/gone.bin")));
    ASSERT_TRUE(waitFor([&] { return poolNumber("queue") >= 1; }, 5000)) << "no task in flight";
    c.resetClose();
  }
  ASSERT_TRUE(waitFor([&] { return poolNumber("queue") == 0 && poolNumber("done") >= 1; }, 10000));
  Response r = fetchGet(port(), "/hot.html");
  EXPECT_EQ(r.status, 200);
  r = fetchGet(port(), "/slow/gone.bin");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.body == contentFor("gone.bin", 20000));
  EXPECT_EQ(server_.workers(), std::vector<pid_t>{worker_}) << "the worker did not die";
}

// The file is replaced (renamed over) while the open of its old version is in flight: the answer
// is one version, whole, with its own length; the new one is served after.
TEST_F(PoolServerTest, FileReplacedWhileItsOpenIsInFlight) {
  std::string skip = prepare(300, {"swap.bin"}, 20000);
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;
  ASSERT_NO_FATAL_FAILURE(startWithPool(2));
  std::string before = contentFor("swap.bin", 20000), after = contentFor("swapped", 12345);
  Client c(port());
  ASSERT_TRUE(c.send(getRequest("/slow/swap.bin")));
  ASSERT_TRUE(waitFor([&] { return poolNumber("queue") >= 1; }, 5000)) << "no task in flight";
  ASSERT_TRUE(writeFile(src_ + "/swap.new", after));
  ASSERT_EQ(::rename((src_ + "/swap.new").c_str(), (src_ + "/swap.bin").c_str()), 0);
  Response r = c.read();
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_TRUE(r.body == before || r.body == after) << "a mix of versions";
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body.size()));
  // Within the cache's one-second revalidation the new version is served.
  bool fresh = waitFor([&] { return fetchGet(port(), "/slow/swap.bin").body == after; }, 5000);
  EXPECT_TRUE(fresh) << "the replaced file was never served";
}

// QUIT (graceful stop) and HUP (reload) while opens are in flight: each waiting request is
// answered in full, then the old worker exits.
class PoolSignalTest : public PoolServerTest, public ::testing::WithParamInterface<int> {};

TEST_P(PoolSignalTest, TasksInFlightAreAnswered) {
  std::vector<std::string> names = coldNames("sig-", 3);
  std::string skip = prepare(300, names, 20000);
  if (!skip.empty()) GTEST_SKIP() << "slow filesystem unavailable: " << skip;
  ASSERT_NO_FATAL_FAILURE(startWithPool(2));
  std::vector<Client> clients;
  for (const std::string& n : names) {
    clients.emplace_back(port());
    ASSERT_TRUE(clients.back().send(getRequest("/slow/" + n)));
  }
  ASSERT_TRUE(waitFor([&] { return poolNumber("queue") >= 1; }, 5000)) << "no task in flight";
  ASSERT_EQ(::kill(server_.pid(), GetParam()), 0);
  for (size_t i = 0; i < names.size(); ++i) {
    SCOPED_TRACE(names[i]);
    Response r = clients[i].read();
    EXPECT_EQ(r.status, 200) << r.describe();
    EXPECT_TRUE(r.body == contentFor(names[i], 20000));
  }
  EXPECT_TRUE(waitGone(worker_, 10000)) << "the old worker did not exit";
  if (GetParam() == SIGQUIT) {
    EXPECT_TRUE(server_.waitExit(10000)) << "the master did not exit";
  } else {
    EXPECT_EQ(fetchGet(port(), "/hot.html").status, 200) << "the new generation serves";
  }
}

INSTANTIATE_TEST_SUITE_P(Signals, PoolSignalTest, ::testing::Values(SIGQUIT, SIGHUP),
                         [](const ::testing::TestParamInfo<int>& i) {
                           return std::string(i.param == SIGQUIT ? "Quit" : "Hup");
                         });

}  // namespace
}  // namespace hs::integration
