// Harness for the integration tests: starts the real HttpServer binary on a free loopback port,
// talks raw HTTP/1.1 to it, and inspects its processes through /proc. Every blocking call is
// bounded (socket timeouts, poll deadlines) so a broken server fails a test instead of hanging the
// suite.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hs::integration {

// ---- configuration from the environment ----

std::string serverBinary();  // $HTTPSERVER_BIN or ./HttpServer

// In a forked child about to exec the server: own process group, stdin from /dev/null, stdout
// and stderr to the given fds, default signal dispositions, nothing blocked, no fds above 2.
void prepareChild(int outFd, int errFd);
// In that child: execs binary with args (argv[0] = binary); on failure writes why to fd 2 and
// exits with 127.
[[noreturn]] void execOrDie(const std::string& binary, const std::vector<std::string>& args);
std::string siteRoot();  // $HTTPSERVER_WWW or ./www
// Opens a new file for a server's stdout and stderr, named after the running test: under
// $HTTPSERVER_LOG_DIR when set (`make test` sets it; such logs are kept), else under /tmp (removed
// unless the test fails). Returns the fd, or -1; *path is its name.
int openServerLog(std::string* path);
bool serverLogsKept();

// ---- small owners ----

// Move-only owner of a file descriptor (sockets opened by the tests).
class TestFd {
 public:
  TestFd() = default;
  explicit TestFd(int fd) : fd_(fd) {}
  TestFd(TestFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  TestFd& operator=(TestFd&& other) noexcept;
  TestFd(const TestFd&) = delete;
  TestFd& operator=(const TestFd&) = delete;
  ~TestFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset();

 private:
  int fd_ = -1;
};

// A fresh directory under /tmp, removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- files and strings ----

std::optional<std::string> readFile(const std::string& path);
bool writeFile(const std::string& path, std::string_view data);
std::string toLower(std::string_view s);
// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); nullopt if the text is not exactly that.
std::optional<std::time_t> parseImfFixdate(std::string_view s);

// ---- sockets and HTTP ----

struct Response {
  int status = 0;  // 0: no complete response (see error)
  std::string statusLine;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;
  bool closed = false;  // the peer closed the connection while this response was read
  std::string error;    // why status is 0 (timeout, EOF, malformed)

  // Value of the first header called `name` (lower case), or "" when absent.
  std::string header(std::string_view name) const;
  bool has(std::string_view name) const;
  size_t count(std::string_view name) const;
  std::string describe() const;  // status line + headers, for failure messages
};

// Connects to 127.0.0.1:port with SO_RCVTIMEO/SO_SNDTIMEO of 5 s, and SO_RCVBUF set to rcvBuf
// before the handshake when it is > 0 (a small window makes the server's writes block);
// invalid TestFd on failure.
TestFd connectTo(uint16_t port, int rcvBuf = 0);
// Writes all of `data` (MSG_NOSIGNAL); false on error or timeout.
bool sendAll(int fd, std::string_view data);
// Reads one response from fd. `pending` holds bytes already read past the previous response (for
// pipelining) and keeps the surplus. `head` says the request was HEAD, so no body follows.
Response readResponse(int fd, std::string* pending, bool head = false);
// One request on a fresh connection: sends `request` (raw bytes) and reads one response.
Response fetch(uint16_t port, std::string_view request, bool head = false);
// fetch() of GET `target` with Connection: close, so the server has released the connection when
// the response is complete; `extra` holds more header lines, each ending in \r\n.
Response fetchGet(uint16_t port, std::string_view target, std::string_view extra = "");
// Connects, sends `bytes`, and returns everything received until the server closes the connection
// or stays silent for 2 s.
std::string rawExchange(uint16_t port, std::string_view bytes);
// True if the peer closes (EOF or reset) within timeoutMs; data that arrives meanwhile is dropped.
bool waitPeerClosed(int fd, int timeoutMs);
// True if fd has something to read (data or EOF) within timeoutMs.
bool waitReadable(int fd, int timeoutMs);
// A free port right now (bind 127.0.0.1:0, getsockname, close); 0 on failure.
uint16_t pickFreePort();
// True if 127.0.0.1:port can be bound (and listened on) with SO_REUSEADDR right now.
bool portIsFree(uint16_t port);
// A GET request with Host and the given extra header lines (each ending in \r\n).
std::string getRequest(std::string_view target, std::string_view extra = "",
                       std::string_view method = "GET", std::string_view version = "HTTP/1.1");

// One connection with its read buffer; the common case in the tests.
class Client {
 public:
  explicit Client(uint16_t port) : fd_(connectTo(port)) {}
  bool ok() const { return fd_.valid(); }
  int fd() const { return fd_.get(); }
  bool send(std::string_view data) { return sendAll(fd_.get(), data); }
  Response read(bool head = false) { return readResponse(fd_.get(), &pending_, head); }
  Response exchange(std::string_view request, bool head = false);
  bool waitClosed(int timeoutMs) {
    return pending_.empty() && waitPeerClosed(fd_.get(), timeoutMs);
  }
  // Closes with SO_LINGER {1, 0}, so the kernel sends RST instead of FIN.
  void resetClose();
  void close() { fd_.reset(); }

 private:
  TestFd fd_;
  std::string pending_;
};

// ---- processes ----

struct ProcInfo {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  std::string comm;
  std::string cmdline;  // NUL separators replaced by spaces
};

std::optional<ProcInfo> readProc(pid_t pid);
// Children of `parent`, sorted by pid: live ones only, or with zombies too.
std::vector<ProcInfo> childrenOf(pid_t parent, bool withZombies = false);
std::vector<pid_t> childPids(pid_t parent);
// False once the process no longer exists or is a zombie.
bool processAlive(pid_t pid);
// Number of entries of /proc/PID/fd that are sockets; -1 if unreadable.
int countSockets(pid_t pid);

struct RunResult {
  bool timedOut = false;
  int exitCode = -1;  // valid when !timedOut and not signaled
  int signal = 0;     // terminating signal, 0 if exited
  std::string out;
  std::string err;
};

// The one way the tests run a program: `binary args...` in its own process group with stdout and
// stderr captured, killed (the whole group) when scaled(timeoutMs) passes. When it returns in time
// its group is killed too, unless `leaveGroup` (a daemon's intermediate child may not have called
// setsid() yet at that moment).
RunResult runProgram(const std::string& binary, const std::vector<std::string>& args, int timeoutMs,
                     bool leaveGroup = false);
// runProgram() of `/bin/sh -c "cmd"` with stderr merged into out.
RunResult runShell(const std::string& cmd, int timeoutMs);

bool curlAvailable();
// Runs "curl --max-time 10 <args>" through the shell (args must already be quoted); out holds
// stdout and stderr, merged.
RunResult runCurl(const std::string& args);

// ---- the server under test ----

struct ServerOptions {
  int procs = 2;
  int conns = 100;
  std::string root;  // empty: siteRoot()
  std::vector<std::string> extraArgs;
  bool waitForWorkers = true;  // also wait until `procs` live children exist
};

// Owns one running server: its master pid, process group, port and log file. The destructor stops
// it (SIGTERM, then SIGKILL to the group after 3 s) and reaps the master.
class ServerProcess {
 public:
  ServerProcess() = default;
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess();

  // Starts the server and waits (up to 5 s) until it accepts TCP connections. Retries on another
  // port when the server exited because the address was taken. On failure, error() says why.
  bool start(const ServerOptions& opts);
  // Same, on a given port, without retries.
  bool startOn(uint16_t port, const ServerOptions& opts);
  // SIGTERM, wait up to 3 s, SIGKILL the group, reap. Safe to call twice.
  void stop();
  // Waits up to timeoutMs for the master to exit and reaps it; true if it exited.
  bool waitExit(int timeoutMs);

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  bool running();
  const std::string& error() const { return error_; }
  std::string log() const;  // everything the server wrote to stdout/stderr so far
  const std::string& logPath() const { return logPath_; }
  void keepLog() { keepLog_ = true; }
  std::vector<pid_t> workers() const { return childPids(pid_); }
  // Waits until exactly n live children exist; returns their pids (empty on timeout).
  std::vector<pid_t> waitForWorkers(size_t n, int timeoutMs) const;

 private:
  enum class Launch { kOk, kAddressInUse, kFailed };
  Launch launch(uint16_t port, const ServerOptions& opts);
  void killGroup();

  pid_t pid_ = -1;
  bool reaped_ = true;
  int exitStatus_ = 0;
  uint16_t port_ = 0;
  std::string logPath_;
  bool keepLog_ = false;
  std::string error_;
};

// Fixture that owns a ServerProcess and, when a test fails, keeps its log and names it.
class ServerTest : public ::testing::Test {
 protected:
  void TearDown() override;
  // Starts server_ and records a fatal failure with the log if it does not come up; call it as
  // ASSERT_NO_FATAL_FAILURE(startServer(...)) so the test stops there.
  void startServer(const ServerOptions& opts = {});
  // One worker (its pid in worker_) and the status page, so the worker and "active" are easy to
  // follow. Call as ASSERT_NO_FATAL_FAILURE(startSingleWorker(...)).
  void startSingleWorker(std::vector<std::string> extra = {}, int conns = 100,
                         const std::string& root = "");
  uint16_t port() const { return server_.port(); }

  ServerProcess server_;
  pid_t worker_ = 0;
};

}  // namespace hs::integration
