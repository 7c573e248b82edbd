// Slow-client attacks from the real `slowhttptest` tool (slowloris, slow body, slow read) against
// one worker with a small pool: while each attack runs, a probe fetches /index.html on a fresh
// connection every 250 ms and must be answered with 200 within 1 s; afterwards the same worker
// still serves and every slot is released. Skipped when slowhttptest is not installed.
//
// Server settings: 1 worker, 16 connections. Slowloris and slow body run with the default header
// and keep-alive timeouts (10 s / 15 s), longer than the attack, so no timeout frees a slot while
// it lasts: only eviction of the connection reading its request the longest lets probes in.
// Slow read holds slots that are sending a response, which are never evicted; those are bounded
// by --send-timeout, set to 2 s there (the default 60 s would keep the pool full for a minute).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "HardenUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

using namespace harden;

constexpr int kConns = 16;
constexpr int kProbeEveryMs = 250;
constexpr int kProbeLimitMs = 1000;
constexpr char kBigFile[] = "/big.bin";
constexpr size_t kBigSize = 32u << 20;  // far beyond loopback socket buffers (tcp_wmem 4 MB)

// Full path of an executable found on $PATH; nullopt when there is none.
std::optional<std::string> findOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

// slowhttptest's final status block, with the terminal colour codes removed.
struct AttackSummary {
  long long connected = -1;
  long long closed = -1;
  long long error = -1;
  std::string serviceAvailable;
  std::string exitStatus;
};

// `text` without terminal escape sequences (ESC [ digits-and-semicolons letter).
std::string stripEscapes(const std::string& text) {
  std::string plain;
  plain.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t j = i + 2;
      while (j < text.size() &&
             (std::isdigit(static_cast<unsigned char>(text[j])) != 0 || text[j] == ';')) {
        ++j;
      }
      i = j;  // the final letter is skipped by the loop's ++i
      continue;
    }
    plain += text[i];
  }
  return plain;
}

AttackSummary summarize(const std::string& output) {
  std::string plain = stripEscapes(output);
  AttackSummary s;
  auto lastNumber = [&](const std::string& label) -> long long {
    size_t at = plain.rfind(label);
    if (at == std::string::npos) return -1;
    return std::strtoll(plain.c_str() + at + label.size(), nullptr, 10);
  };
  auto lastLine = [&](const std::string& label) -> std::string {
    size_t at = plain.rfind(label);
    if (at == std::string::npos) return "";
    at += label.size();
    size_t end = plain.find('\n', at);
    std::string v = plain.substr(at, end == std::string::npos ? std::string::npos : end - at);
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  };
  s.connected = lastNumber("connected:");
  s.closed = lastNumber("closed:");
  s.error = lastNumber("error:");
  s.serviceAvailable = lastLine("service available:");
  s.exitStatus = lastLine("Exit status:");
  return s;
}

struct ProbeStats {
  int count = 0;
  int64_t worstMs = 0;
  int peakSockets = 0;  // most sockets the worker held at a probe (its channel included)
  std::vector<std::string> failures;
};

class SlowHttpTest : public ServerTest {
 protected:
  void SetUp() override {
    tool_ = findOnPath("slowhttptest");
    if (!tool_) GTEST_SKIP() << "slowhttptest is not on PATH (Debian package slowhttptest)";
    timeout_ = findOnPath("timeout");
    if (!timeout_) GTEST_SKIP() << "timeout (coreutils) is not on PATH";
  }

  void startPool(std::vector<std::string> extra, const std::string& root = "") {
    startSingleWorker(std::move(extra), kConns, root);
  }

  // A root with index.html and a 32 MiB file; 0755 because workers run as nobody under root.
  void makeBigRoot() {
    root_ = std::make_unique<TempDir>();
    ASSERT_EQ(::chmod(root_->path().c_str(), 0755), 0);
    ASSERT_TRUE(writeFile(root_->path() + "/index.html", "<p>index</p>\n"));
    ASSERT_TRUE(writeFile(root_->path() + kBigFile, patternBytes(kBigSize, 11)));
  }

  // Runs slowhttptest with `modeArgs` against `path` for `seconds`, probing the server
  // throughout; records the probes in probes_ and the tool's summary in summary_.
  void attack(const std::string& name, std::vector<std::string> modeArgs, const std::string& path,
              int seconds) {
    TempDir reports;
    std::vector<std::string> args = {std::to_string(scaled(20'000) / 1000), *tool_};
    args.insert(args.end(), modeArgs.begin(), modeArgs.end());
    args.insert(args.end(),
                {"-l", std::to_string(seconds), "-p", "3", "-g", "-o", reports.path() + "/" + name,
                 "-u", "http://127.0.0.1:" + std::to_string(port()) + path});
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread probe([&] {
      auto next = Clock::now();
      while (!stop) {
        auto t0 = Clock::now();
        Response r = fetchGet(port(), "/index.html");
        int64_t ms = msSince(t0);
        int sockets = countSockets(worker_);
        {
          std::lock_guard<std::mutex> lock(mu);
          ++probes_.count;
          probes_.worstMs = std::max(probes_.worstMs, ms);
          probes_.peakSockets = std::max(probes_.peakSockets, sockets);
          if (r.status != 200 || ms > scaled(kProbeLimitMs)) {
            probes_.failures.push_back("probe " + std::to_string(probes_.count) + ": status " +
                                       std::to_string(r.status) + " after " + std::to_string(ms) +
                                       " ms " + r.error);
          }
        }
        // A fixed schedule, so one slow probe does not thin out the rest.
        next += std::chrono::milliseconds(kProbeEveryMs);
        while (next < Clock::now()) next += std::chrono::milliseconds(kProbeEveryMs);
        while (!stop && Clock::now() < next) pace(10);
      }
    });
    RunResult run = runProgram(*timeout_, args, 25000);
    stop = true;
    probe.join();
    summary_ = summarize(run.out + run.err);
    std::cerr << "[ attack  ] " << name << ": " << probes_.count << " probes, worst "
              << probes_.worstMs << " ms, " << probes_.failures.size() << " over " << kProbeLimitMs
              << " ms or failed; worker sockets peaked at " << probes_.peakSockets
              << "; slowhttptest: connected " << summary_.connected << ", closed "
              << summary_.closed << ", error " << summary_.error << ", service available '"
              << summary_.serviceAvailable << "', exit '" << summary_.exitStatus << "'\n";
    for (const std::string& f : probes_.failures) std::cerr << "[ attack  ]   " << f << "\n";
    EXPECT_FALSE(run.timedOut) << "slowhttptest did not finish";
    EXPECT_EQ(run.exitCode, 0) << "slowhttptest exit code (124: killed by timeout)\n" << run.err;
    EXPECT_NE(summary_.exitStatus.find("Hit test time limit"), std::string::npos)
        << "slowhttptest stopped early: '" << summary_.exitStatus << "'";
  }

  // Every probe was answered in time, the attack filled the pool, and the worker recovered.
  void expectWithstood(int minProbes) {
    EXPECT_GE(probes_.count, minProbes);
    EXPECT_TRUE(probes_.failures.empty())
        << probes_.failures.size() << " of " << probes_.count
        << " probes slow or failed, first: " << probes_.failures.front();
    // A full pool is kConns client sockets plus the worker's channel to the master; one less
    // allows for the slot a probe had just released when the sockets were counted.
    EXPECT_GE(probes_.peakSockets, kConns) << "the attack never filled the pool";
    EXPECT_EQ(server_.workers(), std::vector<pid_t>{worker_}) << "the worker was replaced";
    EXPECT_TRUE(processAlive(worker_));
    Response r = fetchGet(port(), "/index.html");
    EXPECT_EQ(r.status, 200) << r.describe() << r.error;
    EXPECT_EQ(waitActive(port(), 1, 3000), 1) << "connections or their slots were not released";
  }

  std::optional<std::string> tool_;
  std::optional<std::string> timeout_;
  std::unique_ptr<TempDir> root_;
  ProbeStats probes_;
  AttackSummary summary_;
};

// Slow headers: 64 connections at 50/s, each adding a header line every second and never ending
// the head. The pool is full within a second; eviction after 500 ms keeps admitting newcomers.
TEST_F(SlowHttpTest, SlowlorisLeavesRoomForNormalClients) {
  ASSERT_NO_FATAL_FAILURE(startPool({}));
  ASSERT_NO_FATAL_FAILURE(
      attack("slowloris", {"-H", "-c", "64", "-r", "50", "-i", "1"}, "/index.html", 7));
  expectWithstood(20);
}

// Slow body (R-U-Dead-Yet): POSTs announcing 8 KiB of body, sent a few bytes per second.
TEST_F(SlowHttpTest, SlowBodyLeavesRoomForNormalClients) {
  ASSERT_NO_FATAL_FAILURE(startPool({}));
  ASSERT_NO_FATAL_FAILURE(attack(
      "slowbody", {"-B", "-c", "64", "-r", "50", "-i", "1", "-s", "8192"}, "/index.html", 7));
  expectWithstood(20);
}

// Slow read: a 1-2 byte receive window, 32 bytes read every 2 s, the 32 MiB file asked for three
// times per connection. Each such connection holds its slot in the sending state.
//
//
// The default 60 s send timeout is kept on purpose: only eviction can help within 1 s. When the
// pool is full, a response whose client has taken no byte for 500 ms is evictable like an idle or
// reading connection (and is closed with a reset, so the kernel drops its unsent data).
TEST_F(SlowHttpTest, SlowReadLeavesRoomForNormalClients) {
  ASSERT_NO_FATAL_FAILURE(makeBigRoot());
  ASSERT_NO_FATAL_FAILURE(startPool({}, root_->path()));
  ASSERT_NO_FATAL_FAILURE(
      attack("slowread",
             {"-X", "-c", "64", "-r", "50", "-w", "1", "-y", "2", "-n", "2", "-z", "32", "-k", "3"},
             kBigFile, 7));
  expectWithstood(20);
}

}  // namespace
}  // namespace hs::integration
