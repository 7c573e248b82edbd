// Helpers for the process-lifecycle tests: a bounded multi-threaded HTTP load loop that classifies
// every failure, a slow downloader, a launcher for arbitrary command lines, a guard that kills
// leftover processes by pid, and /proc readers (uids, zombie children, socket inodes).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "TestServer.h"

namespace hs::integration {

// ---- load ----

struct LoadStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  // A reused keep-alive connection that the server had closed before the request reached it (EOF
  // or reset with no response byte). RFC 9112 9.3.1 lets a client retry such a request, and the
  // load loop does; these are counted here, not in `failed`, and are zero when nothing closes
  // idle connections.
  uint64_t staleKeepAlive = 0;
  uint64_t connections = 0;
  std::map<std::string, uint64_t> errors;  // failure kind -> count (including stale closes)
  std::string summary() const;
};

// `threads` clients, each doing keep-alive GETs of `target` on 127.0.0.1:port and opening a new
// connection every `requestsPerConnection` requests, until stop(). Every response must be 200 with
// exactly `expectedBody`.
class LoadRunner {
 public:
  LoadRunner(uint16_t port, int threads, std::string target, std::string expectedBody,
             int requestsPerConnection = 20);
  LoadRunner(const LoadRunner&) = delete;
  LoadRunner& operator=(const LoadRunner&) = delete;
  ~LoadRunner() { stop(); }

  void start();
  LoadStats stop();  // joins the threads (each request is bounded by the harness's timeouts)
  uint64_t okSoFar() const { return ok_.load(); }
  // Waits until `n` more requests than now have succeeded: the load is flowing.
  bool waitProgress(uint64_t n, int timeoutMs = 10'000) const;

 private:
  void run();
  void record(const std::string& kind, bool stale);

  uint16_t port_;
  int threads_;
  std::string request_;
  std::string expectedBody_;
  int requestsPerConnection_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> ok_{0};
  std::vector<std::thread> workers_;
  std::mutex mu_;
  LoadStats stats_;
};

// ---- slow client ----

// GETs `target` on its own thread, reading `chunk` bytes every `intervalMs`.
class SlowDownload {
 public:
  SlowDownload(uint16_t port, std::string target, size_t chunk, int intervalMs);
  SlowDownload(const SlowDownload&) = delete;
  SlowDownload& operator=(const SlowDownload&) = delete;
  ~SlowDownload();
  bool connected() const { return fd_.valid(); }
  size_t received() const { return received_.load(); }  // body bytes so far
  // Waits for the end; true when the whole body arrived. body()/error() are valid afterwards.
  bool finish(int timeoutMs);
  const std::string& body() const { return body_; }
  const std::string& error() const { return error_; }

 private:
  void run();

  TestFd fd_;
  std::string target_;
  size_t chunk_;
  int intervalMs_;
  std::atomic<size_t> received_{0};
  std::atomic<bool> done_{false};
  std::atomic<bool> abort_{false};
  std::string body_;
  std::string error_;
  std::thread thread_;
};

// ---- processes ----

// Kills (SIGKILL) the remembered pids and their live children when destroyed, so a failing test
// never leaves a master behind that the ServerProcess does not own.
class PidGuard {
 public:
  PidGuard() = default;
  PidGuard(const PidGuard&) = delete;
  PidGuard& operator=(const PidGuard&) = delete;
  ~PidGuard() { killAll(); }
  void add(pid_t pid);
  void killAll();

 private:
  std::vector<pid_t> pids_;
};

// A server started with an arbitrary command line (e.g. only "-c FILE"), its output in a log file.
class LaunchedServer {
 public:
  LaunchedServer() = default;
  LaunchedServer(const LaunchedServer&) = delete;
  LaunchedServer& operator=(const LaunchedServer&) = delete;
  ~LaunchedServer();
  // Starts the binary with args and waits until port accepts and `workers` children exist.
  bool start(const std::vector<std::string>& args, uint16_t port, size_t workers);
  void stop();  // TERM, then KILL to the group after 3 s; reaps
  pid_t pid() const { return pid_; }
  std::string log() const;
  const std::string& error() const { return error_; }

 private:
  pid_t pid_ = -1;
  std::string logPath_;
  std::string error_;
};

// The real uid from /proc/PID/status; nullopt if unreadable.
std::optional<uid_t> realUid(pid_t pid);
// Session id (field 6 of /proc/PID/stat); -1 if unreadable.
pid_t sessionOf(pid_t pid);
// Inodes of the sockets pid holds.
std::vector<unsigned long> socketInodes(pid_t pid);
// Inode of the TCP socket listening on 127.0.0.1:port (/proc/net/tcp); 0 if none.
unsigned long listenInode(uint16_t port);
// Server-side inode of the established connection whose client end is `clientFd`; 0 if none.
unsigned long serverSideInode(int clientFd, uint16_t serverPort);
// Bytes the server has not yet got acknowledged on the established connection whose client end is
// `clientFd` (tx_queue in /proc/net/tcp); -1 if there is no such connection.
long sendQueueOf(int clientFd, uint16_t serverPort);
// Which of `pids` holds socket `inode`; 0 if none.
pid_t holderOf(unsigned long inode, const std::vector<pid_t>& pids);
// Targets of /proc/PID/fd/* links.
std::vector<std::string> fdTargets(pid_t pid);
bool fileExists(const std::string& path);
// Pid read from a pid file; 0 if missing or malformed.
pid_t readPidFile(const std::string& path);
// A pid that certainly names no process now (a reaped child's).
pid_t deadPid();

}  // namespace hs::integration
