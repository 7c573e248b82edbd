#include "TestServer.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "Wait.h"

namespace hs::integration {

namespace {

constexpr int kIoTimeoutMs = 5'000;
constexpr int kResponseDeadlineMs = 20'000;  // whole response, however slowly it trickles in
constexpr size_t kMaxHeadBytes = 64 * 1024;
constexpr int kStartTimeoutMs = 5'000;
constexpr int kStopGraceMs = 3'000;
constexpr int kStartAttempts = 5;

int msLeft(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

std::string envOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

// Appends what one recv() returns: >0 bytes read, 0 on EOF, -1 on error or timeout (errno set).
ssize_t recvSome(int fd, std::string* buf, Clock::time_point deadline) {
  if (msLeft(deadline) == 0) {
    errno = ETIMEDOUT;
    return -1;
  }
  char tmp[16 * 1024];
  ssize_t n;
  do {
    n = ::recv(fd, tmp, sizeof tmp, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) buf->append(tmp, static_cast<size_t>(n));
  return n;
}

// Reads until buf holds at least `need` bytes. Sets *eof when the peer closed first.
bool fill(int fd, std::string* buf, size_t need, Clock::time_point deadline, bool* eof,
          std::string* error) {
  while (buf->size() < need) {
    ssize_t n = recvSome(fd, buf, deadline);
    if (n == 0) {
      *eof = true;
      *error = "connection closed after " + std::to_string(buf->size()) + " of " +
               std::to_string(need) + " bytes";
      return false;
    }
    if (n < 0) {
      *error = std::string("recv: ") + std::strerror(errno);
      return false;
    }
  }
  return true;
}

// Reads until buf contains `delim`; returns its position or npos.
size_t fillUntil(int fd, std::string* buf, std::string_view delim, Clock::time_point deadline,
                 bool* eof, std::string* error) {
  size_t pos;
  while ((pos = buf->find(delim)) == std::string::npos) {
    if (buf->size() > kMaxHeadBytes) {
      *error = "no end of line/head within " + std::to_string(kMaxHeadBytes) + " bytes";
      return std::string::npos;
    }
    ssize_t n = recvSome(fd, buf, deadline);
    if (n == 0) {
      *eof = true;
      *error = buf->empty() ? "connection closed without a response"
                            : "connection closed in the middle of the response head";
      return std::string::npos;
    }
    if (n < 0) {
      *error = std::string("recv: ") + std::strerror(errno) +
               (buf->empty() ? " (nothing received)" : " (partial response)");
      return std::string::npos;
    }
  }
  return pos;
}

std::string trim(std::string_view s) {
  size_t b = 0;
  size_t e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

// Parses "HTTP/1.1 200 OK\r\nName: value\r\n..." (without the final blank line) into r.
bool parseHead(std::string_view head, Response* r) {
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  r->statusLine = std::string(line);
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ' ||
      !std::isdigit(static_cast<unsigned char>(line[9])) ||
      !std::isdigit(static_cast<unsigned char>(line[10])) ||
      !std::isdigit(static_cast<unsigned char>(line[11]))) {
    r->error = "malformed status line: " + r->statusLine;
    return false;
  }
  int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  while (eol != std::string_view::npos) {
    size_t start = eol + 2;
    eol = head.find("\r\n", start);
    std::string_view h = head.substr(start, eol == std::string_view::npos ? eol : eol - start);
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      r->error = "malformed header line: " + std::string(h);
      return false;
    }
    r->headers.emplace_back(toLower(h.substr(0, colon)), trim(h.substr(colon + 1)));
  }
  r->status = status;
  return true;
}

bool readChunkedBody(int fd, std::string* buf, Clock::time_point deadline, Response* r) {
  std::string err;
  for (;;) {
    size_t eol = fillUntil(fd, buf, "\r\n", deadline, &r->closed, &err);
    if (eol == std::string::npos) {
      r->error = "chunked body: " + err;
      return false;
    }
    unsigned long size = std::strtoul(buf->substr(0, eol).c_str(), nullptr, 16);
    buf->erase(0, eol + 2);
    if (size == 0) {
      // Trailer section: header lines up to an empty line.
      for (;;) {
        eol = fillUntil(fd, buf, "\r\n", deadline, &r->closed, &err);
        if (eol == std::string::npos) {
          r->error = "chunked trailer: " + err;
          return false;
        }
        buf->erase(0, eol + 2);
        if (eol == 0) return true;
      }
    }
    if (!fill(fd, buf, size + 2, deadline, &r->closed, &err)) {
      r->error = "chunk data: " + err;
      return false;
    }
    r->body.append(*buf, 0, size);
    buf->erase(0, size + 2);
  }
}

bool readBody(int fd, std::string* buf, bool head, Clock::time_point deadline, Response* r) {
  int s = r->status;
  if (head || (s >= 100 && s < 200) || s == 204 || s == 304) return true;
  if (toLower(r->header("transfer-encoding")).find("chunked") != std::string::npos) {
    return readChunkedBody(fd, buf, deadline, r);
  }
  std::string err;
  if (r->has("content-length")) {
    size_t len = std::strtoull(r->header("content-length").c_str(), nullptr, 10);
    if (!fill(fd, buf, len, deadline, &r->closed, &err)) {
      r->error = "body: " + err;
      return false;
    }
    r->body = buf->substr(0, len);
    buf->erase(0, len);
    return true;
  }
  // No length: the body runs to the end of the connection.
  for (;;) {
    ssize_t n = recvSome(fd, buf, deadline);
    if (n == 0) break;
    if (n < 0) {
      r->error = std::string("body without length: recv: ") + std::strerror(errno);
      return false;
    }
  }
  r->closed = true;
  r->body = std::move(*buf);
  buf->clear();
  return true;
}

int makeTempFile(std::string* path, const char* prefix) {
  std::string tmpl = std::string("/tmp/") + prefix + "-XXXXXX";
  int fd = mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd >= 0) *path = tmpl;
  return fd;
}

// "Suite.Test" of the running test with '/' made safe for a file name; "outside-a-test" if none.
std::string currentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "outside-a-test";
  std::string name = std::string(info->test_suite_name()) + "." + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

std::string describeStatus(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

bool tryConnect(uint16_t port) {
  TestFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  sockaddr_in addr = loopback(port);
  return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

[[noreturn]] void execOrDie(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> storage;
  storage.push_back(binary);
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : storage) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv(binary.c_str(), argv.data());
  std::string msg = "execv(" + binary + ") failed: " + std::strerror(errno) + "\n";
  ssize_t ignored = ::write(2, msg.data(), msg.size());
  (void)ignored;
  _exit(127);
}

// Restores what a freshly exec'd server should see: default signal dispositions, nothing
// blocked, and no descriptors of ours except 0-2.
void prepareChild(int outFd, int errFd) {
  setpgid(0, 0);
  int devNull = ::open("/dev/null", O_RDONLY);
  if (devNull >= 0) dup2(devNull, 0);
  dup2(outFd, 1);
  dup2(errFd, 2);
  for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return;
#endif
  long maxFd = sysconf(_SC_OPEN_MAX);
  for (int fd = 3; fd < maxFd && fd < 65536; ++fd) ::close(fd);
}

// ---- environment, owners, files ----

bool serverLogsKept() {
  const char* dir = std::getenv("HTTPSERVER_LOG_DIR");
  return dir != nullptr && *dir != '\0';
}

int openServerLog(std::string* path) {
  std::string dir = serverLogsKept() ? std::getenv("HTTPSERVER_LOG_DIR") : "/tmp";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::string tmpl = dir + "/" + currentTestName() + "-XXXXXX.log";
  int fd = mkostemps(tmpl.data(), 4, O_CLOEXEC);
  if (fd >= 0) *path = tmpl;
  return fd;
}

std::string serverBinary() { return envOr("HTTPSERVER_BIN", "./HttpServer"); }
std::string siteRoot() { return envOr("HTTPSERVER_WWW", "./www"); }

TestFd& TestFd::operator=(TestFd&& other) noexcept {
  if (this != &other) {
    reset();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void TestFd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

TempDir::TempDir() {
  std::string tmpl = "/tmp/httpserver-it-XXXXXX";
  if (mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  // remove_all removes symlinks themselves and never follows them out of the tree.
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

std::optional<std::string> readFile(const std::string& path) {
  TestFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::string data;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

bool writeFile(const std::string& path, std::string_view data) {
  TestFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return false;
  return ::write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size());
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::time_t> parseImfFixdate(std::string_view s) {
  std::string text(s);
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  // strptime is lenient about widths and case; the round trip demands the exact form.
  char again[64];
  if (std::strftime(again, sizeof again, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
    return std::nullopt;
  if (text != again) return std::nullopt;
  return timegm(&tm);
}

// ---- HTTP ----

std::string Response::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

bool Response::has(std::string_view name) const { return count(name) > 0; }

size_t Response::count(std::string_view name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return h.first == name; }));
}

std::string Response::describe() const {
  std::string out = statusLine.empty() ? "(no status line)" : statusLine;
  for (const auto& [k, v] : headers) out += "\n  " + k + ": " + v;
  if (!error.empty()) out += "\n  [error: " + error + "]";
  out += "\n  [body: " + std::to_string(body.size()) + " bytes" + (closed ? ", closed" : "") + "]";
  return out;
}

TestFd connectTo(uint16_t port, int rcvBuf) {
  TestFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fd;
  if (rcvBuf > 0) setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvBuf, sizeof rcvBuf);
  int ioMs = scaled(kIoTimeoutMs);
  timeval tv{ioMs / 1000, (ioMs % 1000) * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

bool sendAll(int fd, std::string_view data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

Response readResponse(int fd, std::string* pending, bool head) {
  Response r;
  auto deadline = Clock::now() + std::chrono::milliseconds(scaled(kResponseDeadlineMs));
  size_t headEnd = fillUntil(fd, pending, "\r\n\r\n", deadline, &r.closed, &r.error);
  if (headEnd == std::string::npos) return r;
  bool ok = parseHead(std::string_view(*pending).substr(0, headEnd), &r);
  pending->erase(0, headEnd + 4);
  if (ok && !readBody(fd, pending, head, deadline, &r)) {
    r.status = 0;  // incomplete; statusLine and error say what arrived
  }
  return r;
}

std::string rawExchange(uint16_t port, std::string_view bytes) {
  TestFd fd = connectTo(port);
  if (!fd.valid() || !sendAll(fd.get(), bytes)) return "";
  std::string out;
  auto deadline = Clock::now() + std::chrono::milliseconds(scaled(15'000));
  while (msLeft(deadline) > 0) {
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, std::min(scaled(2000), msLeft(deadline))) <= 0) break;  // silence
    if (recvSome(fd.get(), &out, deadline) <= 0) break;
  }
  return out;
}

bool waitPeerClosed(int fd, int timeoutMs) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeoutMs);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, msLeft(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) return false;
    char tmp[4096];
    ssize_t n = ::recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && (errno == ECONNRESET || errno == EPIPE)) return true;
    if (n < 0 && errno != EAGAIN && errno != EINTR) return true;
  }
}

bool waitReadable(int fd, int timeoutMs) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, timeoutMs) > 0;
}

uint16_t pickFreePort() {
  TestFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return 0;
  sockaddr_in addr = loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return 0;
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.sin_port);
}

bool portIsFree(uint16_t port) {
  TestFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return false;
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr = loopback(port);
  return ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
         ::listen(fd.get(), 1) == 0;
}

std::string getRequest(std::string_view target, std::string_view extra, std::string_view method,
                       std::string_view version) {
  std::string req;
  req.append(method).append(" ").append(target).append(" ").append(version).append("\r\n");
  req.append("Host: 127.0.0.1\r\n").append(extra).append("\r\n");
  return req;
}

Response fetch(uint16_t port, std::string_view request, bool head) {
  Client c(port);
  if (!c.ok()) {
    Response r;
    r.error = std::string("connect: ") + std::strerror(errno);
    return r;
  }
  return c.exchange(request, head);
}

Response fetchGet(uint16_t port, std::string_view target, std::string_view extra) {
  return fetch(port, getRequest(target, "Connection: close\r\n" + std::string(extra)));
}

Response Client::exchange(std::string_view request, bool head) {
  if (!send(request)) {
    Response r;
    r.error = std::string("send: ") + std::strerror(errno);
    return r;
  }
  return read(head);
}

void Client::resetClose() {
  linger lg{1, 0};
  setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  fd_.reset();
}

// ---- processes ----

std::optional<ProcInfo> readProc(pid_t pid) {
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return std::nullopt;
  // "pid (comm) state ppid ...": comm may contain spaces and ')', so split at the last ')'.
  size_t open = stat->find('(');
  size_t close = stat->rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 4 > stat->size()) {
    return std::nullopt;
  }
  ProcInfo info;
  info.pid = pid;
  info.comm = stat->substr(open + 1, close - open - 1);
  info.state = (*stat)[close + 2];
  info.ppid = static_cast<pid_t>(std::strtol(stat->c_str() + close + 4, nullptr, 10));
  auto cmdline = readFile("/proc/" + std::to_string(pid) + "/cmdline");
  if (cmdline) {
    std::replace(cmdline->begin(), cmdline->end(), '\0', ' ');
    info.cmdline = trim(*cmdline);
  }
  return info;
}

std::vector<ProcInfo> childrenOf(pid_t parent, bool withZombies) {
  std::vector<ProcInfo> out;
  DIR* dir = opendir("/proc");
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (!std::isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    auto info = readProc(static_cast<pid_t>(std::strtol(e->d_name, nullptr, 10)));
    bool dead = info && (info->state == 'Z' || info->state == 'X');
    if (info && info->ppid == parent && (withZombies || !dead)) {
      out.push_back(*info);
    }
  }
  closedir(dir);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return out;
}

std::vector<pid_t> childPids(pid_t parent) {
  std::vector<pid_t> pids;
  for (const ProcInfo& p : childrenOf(parent)) pids.push_back(p.pid);
  return pids;
}

bool processAlive(pid_t pid) {
  auto info = readProc(pid);
  return info && info->state != 'Z' && info->state != 'X';
}

int countSockets(pid_t pid) {
  std::string dirPath = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = opendir(dirPath.c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    std::string link = dirPath + "/" + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0 && std::string_view(target, static_cast<size_t>(n)).starts_with("socket:")) ++count;
  }
  closedir(dir);
  return count;
}

RunResult runProgram(const std::string& binary, const std::vector<std::string>& args, int timeoutMs,
                     bool leaveGroup) {
  RunResult result;
  std::string outPath;
  std::string errPath;
  TestFd outFd(makeTempFile(&outPath, "httpserver-out"));
  TestFd errFd(makeTempFile(&errPath, "httpserver-err"));
  if (!outFd.valid() || !errFd.valid()) return result;
  pid_t pid = fork();
  if (pid == 0) {
    prepareChild(outFd.get(), errFd.get());
    execOrDie(binary, args);
  }
  if (pid > 0) {
    setpgid(pid, pid);
    int status = 0;
    if (!waitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeoutMs)) {
      result.timedOut = true;
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
    } else if (WIFEXITED(status)) {
      result.exitCode = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      result.signal = WTERMSIG(status);
    }
    if (!leaveGroup) kill(-pid, SIGKILL);  // anything it forked and left behind
  }
  result.out = readFile(outPath).value_or("");
  result.err = readFile(errPath).value_or("");
  unlink(outPath.c_str());
  unlink(errPath.c_str());
  return result;
}

RunResult runShell(const std::string& cmd, int timeoutMs) {
  return runProgram("/bin/sh", {"-c", "exec 2>&1; " + cmd}, timeoutMs);
}

bool curlAvailable() { return runShell("curl --version >/dev/null", 5000).exitCode == 0; }

RunResult runCurl(const std::string& args) {
  return runShell("curl --max-time " + std::to_string(scaled(10'000) / 1000) + " " + args, 20'000);
}

// ---- ServerProcess ----

ServerProcess::~ServerProcess() {
  stop();
  if (!keepLog_ && !serverLogsKept() && !logPath_.empty()) unlink(logPath_.c_str());
}

bool ServerProcess::start(const ServerOptions& opts) {
  for (int attempt = 0; attempt < kStartAttempts; ++attempt) {
    uint16_t port = pickFreePort();
    if (port == 0) {
      error_ = "no free port";
      return false;
    }
    Launch l = launch(port, opts);
    if (l == Launch::kOk) return true;
    if (l == Launch::kFailed) return false;
  }
  error_ += " (gave up after " + std::to_string(kStartAttempts) + " ports)";
  return false;
}

bool ServerProcess::startOn(uint16_t port, const ServerOptions& opts) {
  return launch(port, opts) == Launch::kOk;
}

ServerProcess::Launch ServerProcess::launch(uint16_t port, const ServerOptions& opts) {
  stop();
  if (!logPath_.empty()) unlink(logPath_.c_str());
  TestFd logFd(openServerLog(&logPath_));
  if (!logFd.valid()) {
    error_ = "cannot create a log file";
    return Launch::kFailed;
  }
  std::vector<std::string> args = {"127.0.0.1",
                                   std::to_string(port),
                                   std::to_string(opts.procs),
                                   std::to_string(opts.conns),
                                   "--root",
                                   opts.root.empty() ? siteRoot() : opts.root};
  args.insert(args.end(), opts.extraArgs.begin(), opts.extraArgs.end());
  std::string binary = serverBinary();
  pid_t pid = fork();
  if (pid < 0) {
    error_ = std::string("fork: ") + std::strerror(errno);
    return Launch::kFailed;
  }
  if (pid == 0) {
    prepareChild(logFd.get(), logFd.get());
    execOrDie(binary, args);
  }
  setpgid(pid, pid);  // also done in the child; whichever runs first wins the race
  pid_ = pid;
  reaped_ = false;
  port_ = port;

  bool up = waitFor([&] { return tryConnect(port) || !running(); }, kStartTimeoutMs);
  if (!running()) {
    std::string text = toLower(log());
    error_ = binary + " " + describeStatus(exitStatus_) + " before accepting connections";
    bool inUse =
        text.find("in use") != std::string::npos || text.find("eaddrinuse") != std::string::npos;
    return inUse ? Launch::kAddressInUse : Launch::kFailed;
  }
  if (!up) {
    error_ = binary + " did not accept connections on port " + std::to_string(port) + " within " +
             std::to_string(scaled(kStartTimeoutMs)) + " ms";
    return Launch::kFailed;
  }
  if (opts.waitForWorkers && waitForWorkers(static_cast<size_t>(opts.procs), 5000).empty()) {
    error_ = "expected " + std::to_string(opts.procs) + " worker processes, found " +
             std::to_string(workers().size());
    return Launch::kFailed;
  }
  return Launch::kOk;
}

bool ServerProcess::running() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exitStatus_ = status;
  }
  return !reaped_;
}

bool ServerProcess::waitExit(int timeoutMs) {
  return waitFor([&] { return !running(); }, timeoutMs);
}

void ServerProcess::killGroup() {
  if (pid_ > 0) kill(-pid_, SIGKILL);
}

void ServerProcess::stop() {
  if (pid_ <= 0) return;
  if (running()) {
    kill(pid_, SIGTERM);
    waitExit(kStopGraceMs);
  }
  // Workers left behind by a master that died, or a master that ignored SIGTERM.
  killGroup();
  if (!reaped_) {
    waitpid(pid_, &exitStatus_, 0);
    reaped_ = true;
  }
  pid_ = -1;
}

std::string ServerProcess::log() const {
  return logPath_.empty() ? std::string() : readFile(logPath_).value_or("");
}

std::vector<pid_t> ServerProcess::waitForWorkers(size_t n, int timeoutMs) const {
  std::vector<pid_t> pids;
  if (!waitFor([&] { return (pids = workers()).size() == n; }, timeoutMs)) return {};
  return pids;
}

// ---- fixture ----

void ServerTest::TearDown() {
  if (HasFailure() && !server_.logPath().empty()) {
    server_.keepLog();
    std::cerr << "server log: " << server_.logPath() << "\n";
  }
  server_.stop();
}

void ServerTest::startServer(const ServerOptions& opts) {
  ASSERT_TRUE(server_.start(opts)) << server_.error() << "\nserver log:\n" << server_.log();
}

void ServerTest::startSingleWorker(std::vector<std::string> extra, int conns,
                                   const std::string& root) {
  ServerOptions opts;
  opts.procs = 1;
  opts.conns = conns;
  opts.root = root;
  opts.extraArgs = std::move(extra);
  opts.extraArgs.insert(opts.extraArgs.end(), {"--status-path", "/server-status"});
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  std::vector<pid_t> w = server_.workers();
  ASSERT_EQ(w.size(), 1u);
  worker_ = w[0];
}

}  // namespace hs::integration
