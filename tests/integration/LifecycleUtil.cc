#include "LifecycleUtil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include "Wait.h"

namespace hs::integration {
namespace {

bool isStaleClose(const Response& r) {
  // Nothing at all came back: the server had closed (FIN or RST) before reading the request.
  return r.status == 0 &&
         (r.error.find("without a response") != std::string::npos ||
          r.error.find("nothing received") != std::string::npos || r.error.rfind("send:", 0) == 0);
}

// Fields of one /proc/net/tcp row we care about.
struct TcpRow {
  uint16_t localPort = 0;
  uint16_t remotePort = 0;
  int state = 0;
  long txQueue = 0;
  unsigned long inode = 0;
};

std::vector<TcpRow> tcpRows() {
  std::vector<TcpRow> rows;
  std::string text = readFile("/proc/net/tcp").value_or("");
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string sl, local, remote, st, txrx, trtm, retr, uid, timeout;
    unsigned long inode = 0;
    if (!(f >> sl >> local >> remote >> st >> txrx >> trtm >> retr >> uid >> timeout >> inode))
      continue;
    TcpRow row;
    auto port = [](const std::string& addr) {
      size_t colon = addr.find(':');
      return static_cast<uint16_t>(std::strtoul(addr.c_str() + colon + 1, nullptr, 16));
    };
    row.localPort = port(local);
    row.remotePort = port(remote);
    row.state = static_cast<int>(std::strtol(st.c_str(), nullptr, 16));
    row.txQueue = std::strtol(txrx.c_str(), nullptr, 16);  // "tx_queue:rx_queue" in hex
    row.inode = inode;
    rows.push_back(row);
  }
  return rows;
}

constexpr int kTcpEstablished = 0x01;
constexpr int kTcpListen = 0x0A;

}  // namespace

// ---- load ----

std::string LoadStats::summary() const {
  std::string s = "ok " + std::to_string(ok) + ", failed " + std::to_string(failed) +
                  ", stale keep-alive closes (retried) " + std::to_string(staleKeepAlive) +
                  ", connections " + std::to_string(connections);
  for (const auto& [kind, n] : errors) s += "\n  " + std::to_string(n) + " x " + kind;
  return s;
}

LoadRunner::LoadRunner(uint16_t port, int threads, std::string target, std::string expectedBody,
                       int requestsPerConnection)
    : port_(port),
      threads_(threads),
      request_(getRequest(target)),
      expectedBody_(std::move(expectedBody)),
      requestsPerConnection_(requestsPerConnection) {}

void LoadRunner::start() {
  for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { run(); });
}

LoadStats LoadRunner::stop() {
  stop_ = true;
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  stats_.ok = ok_.load();
  return stats_;
}

bool LoadRunner::waitProgress(uint64_t n, int timeoutMs) const {
  uint64_t from = ok_.load();
  return waitFor([&] { return ok_.load() >= from + n; }, timeoutMs);
}

void LoadRunner::record(const std::string& kind, bool stale) {
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.errors[kind];
  ++(stale ? stats_.staleKeepAlive : stats_.failed);
}

void LoadRunner::run() {
  std::optional<Client> c;
  int used = 0;
  while (!stop_) {
    if (!c || used >= requestsPerConnection_) {
      c.emplace(port_);
      used = 0;
      if (!c->ok()) {
        record(std::string("connect: ") + std::strerror(errno), false);
        c.reset();
        pace(2);  // connect() failed at once: do not spin
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.connections;
    }
    bool reused = used > 0;
    Response r = c->exchange(request_);
    ++used;
    if (r.status == 200 && r.body == expectedBody_) {
      ++ok_;
      if (toLower(r.header("connection")) == "close") c.reset();
      continue;
    }
    if (reused && isStaleClose(r)) {
      record("stale keep-alive connection: " + r.error, true);
    } else {
      std::string kind = r.status == 0     ? r.error
                         : r.status != 200 ? "status " + std::to_string(r.status)
                                           : "body of " + std::to_string(r.body.size()) + " bytes";
      record(kind + (reused ? " (reused connection)" : " (new connection)"), false);
    }
    c.reset();  // the next iteration retries on a new connection
  }
}

// ---- slow client ----

SlowDownload::SlowDownload(uint16_t port, std::string target, size_t chunk, int intervalMs)
    : fd_(connectTo(port, 16 * 1024)),
      target_(std::move(target)),
      chunk_(chunk),
      intervalMs_(intervalMs) {
  if (!fd_.valid() || !sendAll(fd_.get(), getRequest(target_))) {
    error_ = "connect or send failed";
    fd_.reset();
    done_ = true;
    return;
  }
  thread_ = std::thread([this] { run(); });
}

SlowDownload::~SlowDownload() {
  abort_ = true;
  if (thread_.joinable()) thread_.join();
}

void SlowDownload::run() {
  auto deadline = Clock::now() + std::chrono::milliseconds(scaled(30'000));
  std::string buf;
  std::vector<char> tmp(chunk_);
  size_t headEnd = std::string::npos;
  size_t length = 0;
  while (!abort_ && Clock::now() < deadline) {
    size_t want = chunk_;
    if (headEnd != std::string::npos) want = std::min(chunk_, length - body_.size());
    if (want == 0) break;
    ssize_t n = ::recv(fd_.get(), tmp.data(), want, 0);
    if (n <= 0) {
      error_ = n == 0 ? "EOF after " + std::to_string(body_.size()) + " body bytes"
                      : std::string("recv: ") + std::strerror(errno);
      break;
    }
    if (headEnd == std::string::npos) {
      buf.append(tmp.data(), static_cast<size_t>(n));
      headEnd = buf.find("\r\n\r\n");
      if (headEnd == std::string::npos) continue;
      std::string head = toLower(buf.substr(0, headEnd));
      if (head.rfind("http/1.1 200", 0) != 0) {
        error_ = "unexpected head: " + buf.substr(0, headEnd);
        break;
      }
      size_t cl = head.find("content-length:");
      length = cl == std::string::npos ? 0 : std::strtoull(head.c_str() + cl + 15, nullptr, 10);
      body_ = buf.substr(headEnd + 4);
    } else {
      body_.append(tmp.data(), static_cast<size_t>(n));
    }
    received_ = body_.size();
    if (body_.size() >= length) break;
    pace(intervalMs_);
  }
  if (error_.empty() && (headEnd == std::string::npos || body_.size() != length)) {
    error_ = "incomplete: " + std::to_string(body_.size()) + " of " + std::to_string(length);
  }
  done_ = true;
}

bool SlowDownload::finish(int timeoutMs) {
  waitFor([this] { return done_.load(); }, timeoutMs);
  abort_ = true;
  if (thread_.joinable()) thread_.join();
  return error_.empty();
}

// ---- processes ----

void PidGuard::add(pid_t pid) {
  if (pid > 0) pids_.push_back(pid);
}

void PidGuard::killAll() {
  for (pid_t pid : pids_) {
    auto info = readProc(pid);
    if (!info || info->comm.rfind("HttpServer", 0) != 0) continue;  // gone, or the pid was reused
    for (const ProcInfo& child : childrenOf(pid)) kill(child.pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  pids_.clear();
}

LaunchedServer::~LaunchedServer() {
  stop();
  if (!serverLogsKept() && !logPath_.empty()) unlink(logPath_.c_str());
}

bool LaunchedServer::start(const std::vector<std::string>& args, uint16_t port, size_t workers) {
  int logFd = openServerLog(&logPath_);
  if (logFd < 0) {
    error_ = "cannot create a log file";
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    prepareChild(logFd, logFd);
    execOrDie(serverBinary(), args);
  }
  ::close(logFd);
  if (pid < 0) {
    error_ = std::string("fork: ") + std::strerror(errno);
    return false;
  }
  setpgid(pid, pid);
  pid_ = pid;
  bool up = waitFor(
      [&] {
        int status;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          return true;
        }
        return connectTo(port).valid() && childPids(pid_).size() == workers;
      },
      5000);
  if (pid_ < 0 || !up) {
    error_ = pid_ < 0 ? "the server exited during start-up" : "the server did not come up in time";
    return false;
  }
  return true;
}

void LaunchedServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  bool reaped = waitFor([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, 3000);
  kill(-pid_, SIGKILL);
  if (!reaped) waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string LaunchedServer::log() const {
  return logPath_.empty() ? std::string() : readFile(logPath_).value_or("");
}

std::optional<uid_t> realUid(pid_t pid) {
  auto status = readFile("/proc/" + std::to_string(pid) + "/status");
  if (!status) return std::nullopt;
  size_t pos = status->find("\nUid:");
  if (pos == std::string::npos) return std::nullopt;
  return static_cast<uid_t>(std::strtoul(status->c_str() + pos + 5, nullptr, 10));
}

pid_t sessionOf(pid_t pid) {
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return -1;
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream f(stat->substr(close + 2));
  std::string state;
  long ppid = 0, pgrp = 0, session = -1;
  f >> state >> ppid >> pgrp >> session;
  return static_cast<pid_t>(session);
}

std::vector<std::string> fdTargets(pid_t pid) {
  std::vector<std::string> out;
  std::string dirPath = "/proc/" + std::to_string(pid) + "/fd";
  DIR* dir = opendir(dirPath.c_str());
  if (dir == nullptr) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[512];
    std::string link = dirPath + "/" + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n > 0) out.emplace_back(target, static_cast<size_t>(n));
  }
  closedir(dir);
  return out;
}

std::vector<unsigned long> socketInodes(pid_t pid) {
  std::vector<unsigned long> out;
  for (const std::string& t : fdTargets(pid)) {
    if (t.rfind("socket:[", 0) == 0) out.push_back(std::strtoul(t.c_str() + 8, nullptr, 10));
  }
  return out;
}

unsigned long listenInode(uint16_t port) {
  for (const TcpRow& row : tcpRows()) {
    if (row.localPort == port && row.state == kTcpListen) return row.inode;
  }
  return 0;
}

namespace {

std::optional<TcpRow> serverSideRow(int clientFd, uint16_t serverPort) {
  sockaddr_in addr{};
  socklen_t len = sizeof addr;
  if (getsockname(clientFd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return std::nullopt;
  uint16_t clientPort = ntohs(addr.sin_port);
  for (const TcpRow& row : tcpRows()) {
    if (row.localPort == serverPort && row.remotePort == clientPort &&
        row.state == kTcpEstablished) {
      return row;
    }
  }
  return std::nullopt;
}

}  // namespace

unsigned long serverSideInode(int clientFd, uint16_t serverPort) {
  auto row = serverSideRow(clientFd, serverPort);
  return row ? row->inode : 0;
}

long sendQueueOf(int clientFd, uint16_t serverPort) {
  auto row = serverSideRow(clientFd, serverPort);
  return row ? row->txQueue : -1;
}

pid_t holderOf(unsigned long inode, const std::vector<pid_t>& pids) {
  for (pid_t pid : pids) {
    for (unsigned long i : socketInodes(pid)) {
      if (i == inode) return pid;
    }
  }
  return 0;
}

bool fileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

pid_t readPidFile(const std::string& path) {
  auto text = readFile(path);
  if (!text || text->empty()) return 0;
  return static_cast<pid_t>(std::strtol(text->c_str(), nullptr, 10));
}

pid_t deadPid() {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status;
  if (pid > 0) waitpid(pid, &status, 0);
  return pid;
}

}  // namespace hs::integration
