// Proof of the claim "no heap allocation per request in steady state": a real Worker runs in a
// child process whose every malloc-family call (and so every operator new) is counted into a
// MAP_SHARED counter; the parent drives keep-alive requests over loopback and checks that the
// count does not move once warmed up. Built as its own binary, without sanitizers (they replace
// malloc themselves). Set HS_ALLOC_TRACE=1 to have the child print a backtrace of each allocation
// made during the measured phase.
#include <arpa/inet.h>
#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "Channel.h"
#include "Config.h"
#include "Privileges.h"
#include "SharedState.h"
#include "Socket.h"
#include "Worker.h"

// ---- counting allocator ----

namespace {

struct AllocShared {
  std::atomic<uint64_t> count;
  std::atomic<int> trace;  // child prints backtraces while set
  std::atomic<int> traced;
};

AllocShared* g_alloc = nullptr;  // MAP_SHARED, set before fork
bool g_counting = false;         // true only in the child
bool g_inHook = false;           // backtrace() may allocate: do not recurse

constexpr int kMaxTraces = 20;

void noteAllocation() {
  if (!g_counting || g_alloc == nullptr) return;
  g_alloc->count.fetch_add(1, std::memory_order_relaxed);
  if (g_alloc->trace.load(std::memory_order_relaxed) == 0 || g_inHook) return;
  if (g_alloc->traced.fetch_add(1, std::memory_order_relaxed) >= kMaxTraces) return;
  g_inHook = true;
  void* frames[32];
  int n = ::backtrace(frames, 32);
  static const char kHeader[] = "---- allocation in steady state:\n";
  ssize_t ignored = ::write(2, kHeader, sizeof kHeader - 1);
  (void)ignored;
  ::backtrace_symbols_fd(frames, n, 2);  // writes directly, no malloc
  g_inHook = false;
}

}  // namespace

extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);
void* __libc_memalign(size_t, size_t);
void* __libc_valloc(size_t);
void* __libc_pvalloc(size_t);

void* malloc(size_t n) noexcept {
  noteAllocation();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) noexcept {
  noteAllocation();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) noexcept {
  noteAllocation();
  return __libc_realloc(p, n);
}
void* reallocarray(void* p, size_t n, size_t size) noexcept {
  noteAllocation();
  size_t bytes;
  if (__builtin_mul_overflow(n, size, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return __libc_realloc(p, bytes);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(size_t align, size_t n) noexcept {
  noteAllocation();
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  noteAllocation();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  noteAllocation();
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(size_t n) noexcept {
  noteAllocation();
  return __libc_valloc(n);
}
void* pvalloc(size_t n) noexcept {
  noteAllocation();
  return __libc_pvalloc(n);
}
}  // extern "C"

// operator new goes through malloc above (counted once); replaced here as well so the count does
// not depend on how the C++ runtime reaches malloc.
void* operator new(size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return ::operator new(n); }
void* operator new(size_t n, const std::nothrow_t&) noexcept { return std::malloc(n == 0 ? 1 : n); }
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new(size_t n, std::align_val_t a) {
  size_t align = static_cast<size_t>(a);
  void* p = nullptr;
  if (posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n == 0 ? 1 : n) == 0)
    return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) { return ::operator new(n, a); }
void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  size_t align = static_cast<size_t>(a);
  void* p = nullptr;
  return posix_memalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n == 0 ? 1 : n) == 0
             ? p
             : nullptr;
}
void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept {
  return ::operator new(n, a, t);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace hs {
namespace {

std::string siteRoot() {
  const char* env = ::getenv("HTTPSERVER_WWW");
  return env != nullptr && env[0] != '\0' ? env : "www";
}

// The worker child: SIGTERM'd and reaped on destruction, also when an assertion failed.
class ChildGuard {
 public:
  ~ChildGuard() { stop(); }
  void set(pid_t pid) { pid_ = pid; }
  // Returns the wait status, or -1 if there is no child. Bounded: SIGKILL after 5 s.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int status = -1;
    for (int i = 0; i < 500; ++i) {
      pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        pid_ = -1;
        return status;
      }
      if (r < 0 && errno != EINTR) break;
      ::poll(nullptr, 0, 10);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

struct Response {
  int status = 0;
  std::string head;
  std::string body;
};

// Sends one request and reads exactly one response (the connection stays open). Every read is
// bounded by the socket's receive timeout.
bool exchange(int fd, const std::string& request, bool isHead, Response* out, std::string* err) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      *err = "send() failed: " + std::string(std::strerror(errno));
      return false;
    }
    sent += static_cast<size_t>(n);
  }
  std::string buf;
  char chunk[16384];
  size_t headEnd = std::string::npos;
  size_t need = 0;
  bool chunked = false;
  for (;;) {
    if (headEnd == std::string::npos) {
      headEnd = buf.find("\r\n\r\n");
      if (headEnd != std::string::npos) {
        out->head = buf.substr(0, headEnd + 4);
        out->status = buf.size() > 12 ? std::atoi(buf.c_str() + 9) : 0;
        size_t length = 0;
        std::string lower = out->head;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        size_t cl = lower.find("\r\ncontent-length:");
        if (cl != std::string::npos) length = std::strtoull(lower.c_str() + cl + 17, nullptr, 10);
        bool noBody = isHead || out->status == 304 || out->status == 204 || out->status < 200;
        need = headEnd + 4 + (noBody ? 0 : length);
        chunked = !noBody && lower.find("\r\ntransfer-encoding: chunked") != std::string::npos;
      }
    }
    // A chunked body (the proxy's) ends with the last chunk; the tests' bodies hold no "0\r\n".
    if (chunked && buf.size() >= need + 5 && buf.ends_with("0\r\n\r\n")) need = buf.size();
    if (headEnd != std::string::npos && buf.size() >= need && !(chunked && need == headEnd + 4))
      break;
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n <= 0) {
      *err = n == 0 ? "connection closed by the server"
                    : "recv() failed: " + std::string(std::strerror(errno));
      return false;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
  if (buf.size() != need) {
    *err = "more bytes than one response";
    return false;
  }
  out->body = buf.substr(headEnd + 4);
  return true;
}

// A FastCGI application in the test process (its allocations are not counted): answers every
// request, on kept-open connections, with 200 and the number of STDIN bytes it received.
class FakeFastCgiApp {
 public:
  ~FakeFastCgiApp() { stop(); }
  bool start(const std::string& path) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (!listener_.valid() ||
        ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_.get(), 16) != 0) {
      return false;
    }
    acceptor_ = std::thread([this] { acceptLoop(); });
    return true;
  }
  // After the worker has exited (its connections are closed, so every thread ends).
  void stop() {
    if (listener_.valid()) ::shutdown(listener_.get(), SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : served_) t.join();
    served_.clear();
    listener_.reset();
  }

 private:
  void acceptLoop() {
    for (;;) {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      served_.emplace_back([fd] { serve(fd); });
    }
  }
  static bool readAll(int fd, unsigned char* buf, size_t n) {
    for (size_t got = 0; got < n;) {
      ssize_t r = ::recv(fd, buf + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  static void serve(int fd) {
    UniqueFd owner(fd);
    unsigned char h[8];
    std::vector<unsigned char> content(65536 + 256);
    uint64_t stdinBytes = 0;
    bool accel = false;  // a script named /app/accel answers with X-Accel-Redirect
    while (readAll(fd, h, sizeof h)) {
      const size_t len = (size_t{h[4]} << 8 | h[5]) + h[6];
      if (!readAll(fd, content.data(), len)) return;
      if (h[1] == 4) {
        const std::string_view params(reinterpret_cast<const char*>(content.data()), len);
        accel = accel || params.find("/app/accel") != std::string_view::npos;
      }
      if (h[1] != 5) continue;  // only STDIN matters
      stdinBytes += len - h[6];
      if (len - h[6] > 0) continue;
      std::string body = "n=" + std::to_string(stdinBytes);
      std::string out = "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body;
      if (accel) {
        out =
            "Content-Type: text/plain\r\nX-Accel-Redirect: /index.html\r\n"
            "Content-Disposition: inline\r\n\r\nignored";
      }
      accel = false;
      std::string reply;
      auto record = [&](int type, const std::string& c) {
        const char head[8] = {1,
                              static_cast<char>(type),
                              0,
                              1,
                              static_cast<char>(c.size() >> 8),
                              static_cast<char>(c.size() & 0xff),
                              0,
                              0};
        reply.append(head, 8).append(c);
      };
      record(6, out);
      record(6, "");
      record(3, std::string(8, '\0'));
      if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) !=
          static_cast<ssize_t>(reply.size())) {
        return;
      }
      stdinBytes = 0;
    }
  }

  UniqueFd listener_;
  std::thread acceptor_;
  std::vector<std::thread> served_;
};

// An HTTP upstream in the test process (not counted): on kept-open connections, answers each
// request with "n=<body bytes>" by Content-Length, or chunked for a path with "chunked" in it.
class FakeHttpUpstream {
 public:
  ~FakeHttpUpstream() { stop(); }
  uint16_t start() {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // blocking accept4
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (!listener_.valid() || ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listener_.get(), 16) != 0 ||
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return 0;
    }
    acceptor_ = std::thread([this] {
      for (int fd; (fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) {
        served_.emplace_back([fd] { serve(fd); });
      }
    });
    return ntohs(a.sin_port);
  }
  void stop() {
    if (listener_.valid()) ::shutdown(listener_.get(), SHUT_RDWR);
    if (acceptor_.joinable()) acceptor_.join();
    for (std::thread& t : served_) t.join();
    served_.clear();
    listener_.reset();
  }

 private:
  static void serve(int fd) {
    UniqueFd owner(fd);
    std::string buf;
    char chunk[16384];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<size_t>(n));
      }
      std::string head = buf.substr(0, end + 4);
      size_t cl = head.find("\r\nContent-Length: ");
      size_t length =
          cl == std::string::npos ? 0 : std::strtoull(head.c_str() + cl + 18, nullptr, 10);
      while (buf.size() < end + 4 + length) {
        ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buf.append(chunk, static_cast<size_t>(n));
      }
      buf.erase(0, end + 4 + length);
      std::string body = "n=" + std::to_string(length);
      std::string out = head.find("chunked") != std::string::npos
                            ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                              "chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n"
                            : "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body;
      if (::send(fd, out.data(), out.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(out.size()))
        return;
    }
  }

  UniqueFd listener_;
  std::thread acceptor_;
  std::vector<std::thread> served_;
};

std::string headerValue(const std::string& head, const std::string& name) {
  size_t p = head.find("\r\n" + name + ": ");
  if (p == std::string::npos) return "";
  p += name.size() + 4;
  return head.substr(p, head.find("\r\n", p) - p);
}

struct Step {
  std::string request;
  bool isHead;
  int expect;
};

// What the worker serves: the flat configuration without and with the access log, and a block
// configuration (several servers, prefix, exact and regex locations, return, allow/deny, headers),
// also with an access_log in a log_format that uses every variable.
// kGateway: request bodies (in memory, chunked, and spilled to the temp file) passed to a FastCGI
// application; kGatewayGroup: the same through an upstream group of two applications (weights
// 1 and 2, so the balancer and its shared counters run on every request).
// kProxy: GET, HEAD and POST passed to an HTTP upstream (proxy_pass, proxy_set_header
// with variables), with length-known and chunked responses.
enum class Setup { kFlat, kFlatLogged, kBlocks, kBlocksLogged, kGateway, kGatewayGroup, kProxy };

constexpr const char* kEveryVariable =
    "log_format every '$remote_addr $remote_user [$time_local] $time_iso8601 $msec \"$request\" "
    "$request_method $uri $args $host $server_name $status $bytes_sent $body_bytes_sent "
    "$request_time \"$http_user_agent\" $http_x_none $connection $connection_requests $pid';\n";

constexpr const char* kBlockConfig = R"(
server {
  server_name t;
  location / { }
  location /docs/ { max_age 60; add_header X-Docs 1; }
  location = /old { return 301 /new; }
  location ~ \.php$ { deny all; }
  location ~* \.(png|jpg)$ { max_age 3600; }
  location ~ ^/api/ { return 404; }
}
server {
  server_name other.test *.other.test;
  location / { return 404; }
}
)";

class AllocCountTest : public ::testing::TestWithParam<Setup> {
 protected:
  void TearDown() override {
    if (g_alloc != nullptr) ::munmap(g_alloc, sizeof(AllocShared));
    g_alloc = nullptr;
    if (!logDir_.empty()) std::filesystem::remove_all(logDir_);
  }
  std::string logDir_;
};

TEST_P(AllocCountTest, SteadyStateRequestsDoNotAllocate) {
  const bool accessLog = GetParam() == Setup::kFlatLogged || GetParam() == Setup::kBlocksLogged;
  const bool group = GetParam() == Setup::kGatewayGroup;
  const bool gateway = GetParam() == Setup::kGateway || group;
  std::string logPath;
  FakeFastCgiApp app;
  FakeFastCgiApp app2;
  const bool proxy = GetParam() == Setup::kProxy;
  FakeHttpUpstream upstream;
  if (accessLog || gateway) {
    char tmpl[] = "/tmp/alloc_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    logDir_ = tmpl;
    logPath = logDir_ + "/access.log";
  }
  Config cfg;
  if (GetParam() == Setup::kBlocks || GetParam() == Setup::kBlocksLogged) {
    std::string text = kBlockConfig;
    if (GetParam() == Setup::kBlocksLogged) {
      // Both servers name the same file (one fd in the worker).
      for (size_t at = 0; (at = text.find("server {", at)) != std::string::npos; at += 8) {
        text.insert(at + 8, "\n  access_log " + logPath + " every;");
      }
      text = kEveryVariable + text;
    }
    std::string err;
    ASSERT_TRUE(parseConfigText(text, "alloc.conf", &cfg, &err)) << err;
  }
  if (gateway) {
    ASSERT_TRUE(app.start(logDir_ + "/app.sock"));
    if (group) {
      ASSERT_TRUE(app2.start(logDir_ + "/app2.sock"));
    }
    const std::string groupBlock = "upstream g { server unix:" + logDir_ +
                                   "/app.sock; server unix:" + logDir_ + "/app2.sock weight=2; }\n";
    // With fastcgi_param lines (variables expanded per request), a try_files front controller
    // into the gateway and an X-Accel-Redirect back to the static files.
    const std::string text =
        (group ? groupBlock : "") + "client_body_temp_path " + logDir_ +
        ";\nfastcgi_param TOP_ONLY x;\nserver {\n server_name t;\n location / { }\n"
        " location /front/ { try_files $uri /app/index?$args; }\n"
        " location /app/ { fastcgi_pass " +
        (group ? "g" : "unix:" + logDir_ + "/app.sock") +
        ";\n  fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
        "  fastcgi_param X_V \"$request_uri|$args|$http_user_agent|$remote_addr\" if_not_empty; }"
        "\n}\n";
    std::string err;
    ASSERT_TRUE(parseConfigText(text, "alloc.conf", &cfg, &err)) << err;
  }
  if (proxy) {
    const uint16_t port = upstream.start();
    ASSERT_NE(port, 0);
    const std::string text =
        "server {\n server_name t;\n location / { }\n location /p/ { proxy_pass http://127.0.0.1:" +
        std::to_string(port) +
        "/q/; proxy_set_header X-Uri \"$request_uri $host\"; proxy_set_header X-Real-IP \"\"; "
        "}\n}\n";
    std::string err;
    ASSERT_TRUE(parseConfigText(text, "alloc.conf", &cfg, &err)) << err;
  }
  cfg.ip = "127.0.0.1";
  cfg.procs = 1;
  cfg.conns = 64;
  cfg.root = siteRoot();
  ASSERT_TRUE(std::filesystem::exists(cfg.root + "/index.html"))
      << "document root " << cfg.root << " (set HTTPSERVER_WWW)";
  if (GetParam() == Setup::kFlatLogged) cfg.accessLog = logPath;

  void* mem = ::mmap(nullptr, sizeof(AllocShared), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  g_alloc = new (mem) AllocShared{};
  SharedState* shared = mapSharedState();
  ASSERT_NE(shared, nullptr);
  UniqueFd masterEnd, workerEnd;
  ASSERT_TRUE(makeChannel(&masterEnd, &workerEnd));

  ChildGuard child;
  std::fflush(nullptr);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    // As the master prepares its workers: SIGPIPE ignored, stop signals only through signalfd.
    ::signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGQUIT, SIGUSR1, SIGHUP}) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    masterEnd.reset();
    void* warm[4];
    ::backtrace(warm, 4);  // loads the unwinder now, not inside the first traced allocation
    g_counting = true;
    Worker w(cfg, std::move(workerEnd), shared, &shared->workers[0], Privileges{});
    ::_exit(w.run());
  }
  child.set(pid);
  workerEnd.reset();

  std::string err;
  UniqueFd listener = listenTcp("127.0.0.1", 0, 16, &err);
  ASSERT_TRUE(listener.valid()) << err;
  sockaddr_storage addr{};
  socklen_t addrLen = sizeof addr;
  ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&addr), &addrLen), 0);

  constexpr int kConns = 4;
  UniqueFd clients[kConns];
  int accepted[kConns];
  std::vector<UniqueFd> acceptedOwners;
  for (int i = 0; i < kConns; ++i) {
    clients[i].reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(clients[i].valid());
    timeval tv{5, 0};
    ::setsockopt(clients[i].get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(clients[i].get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ASSERT_EQ(::connect(clients[i].get(), reinterpret_cast<sockaddr*>(&addr), addrLen), 0)
        << std::strerror(errno);
    pollfd pfd{listener.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1);
    acceptedOwners.emplace_back(
        ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    ASSERT_TRUE(acceptedOwners.back().valid()) << std::strerror(errno);
    accepted[i] = acceptedOwners.back().get();
  }
  ASSERT_EQ(channelSend(masterEnd.get(), ChannelMsg::kConnections, accepted, kConns), 0);
  acceptedOwners.clear();  // the worker holds them now

  // The validator for the conditional request comes from a first response.
  Response first;
  ASSERT_TRUE(exchange(clients[0].get(), "GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n", false,
                       &first, &err))
      << err;
  ASSERT_EQ(first.status, 200) << first.head;
  std::string etag = headerValue(first.head, "ETag");
  ASSERT_FALSE(etag.empty()) << first.head;

  const Step steps[] = {
      {"GET /index.html HTTP/1.1\r\nHost: t\r\nUser-Agent: alloc-test\r\n\r\n", false, 200},
      {"GET /style.css HTTP/1.1\r\nHost: t\r\nAccept: text/css\r\n\r\n", false, 200},
      {"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n", true, 200},
      {"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n", false, 404},
      {"GET /docs HTTP/1.1\r\nHost: t\r\n\r\n", false, 301},
      {"GET /index.html HTTP/1.1\r\nHost: t\r\nRange: bytes=0-99\r\n\r\n", false, 206},
      {"GET /index.html HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag + "\r\n\r\n", false, 304},
      {"GET /style.css HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, br;q=0\r\n\r\n", false, 200},
  };
  const std::string spilled(40'000, 'b');  // over the 16k buffer: to the temp file
  const Step gatewaySteps[] = {
      {"POST /app/a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", false, 200},
      {"GET /app/b HTTP/1.1\r\nHost: t\r\n\r\n", false, 200},
      {"POST /app/c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
       false, 200},
      {"POST /app/d HTTP/1.1\r\nHost: t\r\nContent-Length: 40000\r\n\r\n" + spilled, false, 200},
      {"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n", false, 200},
      {"GET /front/route?a=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: alloc\r\n\r\n", false, 200},
      {"GET /app/accel HTTP/1.1\r\nHost: t\r\n\r\n", false, 200},
  };
  const Step proxySteps[] = {
      {"GET /p/a?x=1 HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n", false, 200},
      {"HEAD /p/b HTTP/1.1\r\nHost: t\r\n\r\n", true, 200},
      {"POST /p/c HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello", false, 200},
      {"GET /p/chunked HTTP/1.1\r\nHost: t\r\nConnection: X-A\r\nX-A: 1\r\n\r\n", false, 200},
      {"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n", false, 200},
  };
  const Step* plan = gateway ? gatewaySteps : proxy ? proxySteps : steps;
  const int kSteps = gateway ? static_cast<int>(std::size(gatewaySteps))
                     : proxy ? static_cast<int>(std::size(proxySteps))
                             : static_cast<int>(std::size(steps));

  int mismatches = 0;
  std::string firstMismatch;
  auto run = [&](int count) -> bool {
    Response r;
    for (int i = 0; i < count; ++i) {
      const Step& s = plan[i % kSteps];
      if (!exchange(clients[i % kConns].get(), s.request, s.isHead, &r, &err)) {
        err += " (request " + std::to_string(i) + ": " + s.request.substr(0, s.request.find('\r')) +
               ")";
        return false;
      }
      if (r.status != s.expect) {
        if (mismatches++ == 0) firstMismatch = s.request + "-> " + r.head;
      }
    }
    return true;
  };

  ASSERT_TRUE(run(2000)) << err;
  uint64_t before = g_alloc->count.load();
  if (const char* t = ::getenv("HS_ALLOC_TRACE"); t != nullptr && t[0] == '1') g_alloc->trace = 1;
  ASSERT_TRUE(run(10'000)) << err;
  uint64_t after = g_alloc->count.load();
  g_alloc->trace = 0;

  EXPECT_EQ(mismatches, 0) << "first: " << firstMismatch;
  EXPECT_GT(before, 0u) << "the counter saw nothing: the allocation hook is not in effect";
  EXPECT_EQ(after - before, 0u) << "heap allocations in 10000 steady-state requests "
                                << "(HS_ALLOC_TRACE=1 prints where)";

  // After the graceful stop every response has been accounted for and logged.
  int status = child.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker wait status " << status;
  EXPECT_EQ(shared->workers[0].requests.load(), 12'001u);
  app.stop();
  app2.stop();
  upstream.stop();
  if (accessLog) {
    UniqueFd log(::open(logPath.c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(log.valid());
    size_t lines = 0;
    char buf[65536];
    for (ssize_t n; (n = ::read(log.get(), buf, sizeof buf)) > 0;) {
      for (ssize_t i = 0; i < n; ++i) lines += buf[i] == '\n';
    }
    EXPECT_EQ(lines, 12'001u);
  }
}

INSTANTIATE_TEST_SUITE_P(Config, AllocCountTest,
                         ::testing::Values(Setup::kFlat, Setup::kFlatLogged, Setup::kBlocks,
                                           Setup::kBlocksLogged, Setup::kGateway,
                                           Setup::kGatewayGroup, Setup::kProxy),
                         [](const ::testing::TestParamInfo<Setup>& p) {
                           return std::string(
                               p.param == Setup::kFlat           ? "Flat"
                               : p.param == Setup::kFlatLogged   ? "FlatWithAccessLog"
                               : p.param == Setup::kBlocks       ? "Blocks"
                               : p.param == Setup::kGateway      ? "GatewayBodies"
                               : p.param == Setup::kGatewayGroup ? "GatewayGroupBodies"
                               : p.param == Setup::kProxy        ? "Proxy"
                                                                 : "BlocksWithEveryLogVariable");
                         });

}  // namespace
}  // namespace hs
