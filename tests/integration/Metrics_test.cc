// The Prometheus metrics endpoint (--metrics-path): what it counts against the traffic sent,
// who may read it, `promtool check metrics` on a real scrape, and a real Prometheus server that
// scrapes it and answers a query about it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "HardenUtil.h"
#include "HttpUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

using Samples = std::map<std::string, double>;  // "name{labels}" -> value

// The samples of an exposition text (comment lines skipped).
Samples parseSamples(const std::string& text) {
  Samples s;
  for (const std::string& line : harden::linesOf(text)) {
    if (line[0] == '#') continue;
    size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
    s[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return s;
}

double valueOf(const Samples& s, const std::string& series) {
  auto it = s.find(series);
  return it == s.end() ? -1 : it->second;
}

// The body of a raw response (everything after the head).
std::string bodyOf(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

std::string closingRequest(std::string_view target) {
  return getRequest(target, "Connection: close\r\n");
}

bool haveProgram(const std::string& name) {
  return runShell("command -v " + name + " >/dev/null", 5000).exitCode == 0;
}

class MetricsTest : public ServerTest {
 protected:
  void start(std::vector<std::string> extra = {}, int procs = 2) {
    ServerOptions opts;
    opts.procs = procs;
    opts.extraArgs = {"--metrics-path", "/metrics"};
    opts.extraArgs.insert(opts.extraArgs.end(), extra.begin(), extra.end());
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }
  std::string rawScrape() { return rawExchange(port(), closingRequest("/metrics")); }
};

// Every response the client received is counted once, by class, with every byte it received
// (head and body) and one histogram observation. One worker: it counts a response right after
// sending it, before it reads the next connection, so the final scrape sees every count.
TEST_F(MetricsTest, CountsResponsesBytesAndDurationsOfTheTrafficSent) {
  ASSERT_NO_FATAL_FAILURE(start({}, 1));
  Response first = fetchGet(port(), "/metrics");
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(first.header("cache-control"), "no-store");

  const std::string baseRaw = rawScrape();
  const Samples before = parseSamples(bodyOf(baseRaw));
  ASSERT_FALSE(before.empty()) << baseRaw;
  uint64_t bytes = baseRaw.size();  // the baseline scrape is counted once it has been sent
  for (int i = 0; i < 5; ++i) bytes += rawExchange(port(), closingRequest("/index.html")).size();
  for (int i = 0; i < 3; ++i) bytes += rawExchange(port(), closingRequest("/nope")).size();
  std::string bad = rawExchange(port(), closingRequest("/a%2Fb"));
  ASSERT_EQ(bad.rfind("HTTP/1.1 400 ", 0), 0u) << bad;
  bytes += bad.size();

  const std::string afterRaw = rawScrape();
  const Samples after = parseSamples(bodyOf(afterRaw));
  SCOPED_TRACE(afterRaw);
  auto delta = [&](const std::string& series) {
    return valueOf(after, series) - valueOf(before, series);
  };
  const std::string kResponses = "httpserver_http_responses_total{code=\"";
  EXPECT_EQ(delta(kResponses + "2xx\"}"), 5 + 1);  // the files and the baseline scrape
  EXPECT_EQ(delta(kResponses + "4xx\"}"), 3 + 1);
  for (const char* cls : {"1xx", "3xx", "5xx"}) EXPECT_EQ(delta(kResponses + cls + "\"}"), 0);
  EXPECT_EQ(delta("httpserver_sent_bytes_total"), static_cast<double>(bytes));

  const std::string kHist = "httpserver_http_request_duration_seconds";
  EXPECT_EQ(delta(kHist + "_count"), 10);
  EXPECT_EQ(valueOf(after, kHist + "_bucket{le=\"+Inf\"}"), valueOf(after, kHist + "_count"));
  EXPECT_GT(delta(kHist + "_sum"), 0);
  EXPECT_LT(delta(kHist + "_sum"), 10);
  double last = 0;
  for (const char* le : {"0.0001", "0.001", "0.01", "0.1", "1", "10", "+Inf"}) {
    double v = valueOf(after, kHist + "_bucket{le=\"" + le + "\"}");
    EXPECT_GE(v, last) << "buckets are cumulative: " << le;
    last = v;
  }
  EXPECT_GE(delta("httpserver_http_requests_total"), 10);
  EXPECT_EQ(valueOf(after, "httpserver_workers"), 1);
  EXPECT_EQ(valueOf(after, "httpserver_worker_restarts_total"), 0);
}

// Each worker appears with its pid and its connections by state; the scrape's own connection is
// counted under writing while its answer is made, as nginx counts its status request.
TEST_F(MetricsTest, EachWorkerReportsItsConnectionsByState) {
  ASSERT_NO_FATAL_FAILURE(start());
  Response r = fetchGet(port(), "/metrics");
  ASSERT_EQ(r.status, 200) << r.describe();
  Samples s = parseSamples(r.body);
  SCOPED_TRACE(r.body);
  std::set<std::string> pids;
  double writing = 0;
  for (const auto& [series, value] : s) {
    if (!series.starts_with("httpserver_worker_connections{")) continue;
    size_t at = series.find("pid=\"") + 5;
    pids.insert(series.substr(at, series.find('"', at) - at));
    if (series.find("state=\"writing\"") != std::string::npos) writing += value;
  }
  std::set<std::string> want;
  for (pid_t w : server_.workers()) want.insert(std::to_string(w));
  EXPECT_EQ(pids, want);
  EXPECT_GE(writing, 1);
  EXPECT_GE(valueOf(s, "httpserver_connections_writing"), 1);
  EXPECT_GE(valueOf(s, "httpserver_connections_active"), 1);
}

TEST_F(MetricsTest, AReplacedWorkerCountsAsARestart) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<pid_t> workers = server_.workers();
  ASSERT_EQ(workers.size(), 2u);
  ASSERT_EQ(::kill(workers[0], SIGKILL), 0);
  double restarts = -1;
  waitFor(
      [&] {
        restarts = valueOf(parseSamples(fetchGet(port(), "/metrics").body),
                           "httpserver_worker_restarts_total");
        return restarts == 1;
      },
      5000);
  EXPECT_EQ(restarts, 1);
}

TEST_F(MetricsTest, OffByDefault) {
  ServerOptions opts;
  opts.procs = 1;
  ASSERT_NO_FATAL_FAILURE(startServer(opts));
  EXPECT_EQ(fetchGet(port(), "/metrics").status, 404);
}

// A non-loopback address of this machine, or "" when it has none.
std::string nonLoopbackIpv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    auto* in = reinterpret_cast<sockaddr_in*>(a->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    found = ::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf);
  }
  ::freeifaddrs(list);
  return found;
}

// GET /metrics to 127.0.0.1:port from the local address `from`, so the server sees a
// non-loopback client.
int statusFrom(const std::string& from, uint16_t port) {
  TestFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  ::inet_pton(AF_INET, from.c_str(), &src.sin_addr);
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  dst.sin_port = htons(port);
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof src) != 0 ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0 ||
      !sendAll(fd.get(), getRequest("/metrics"))) {
    return -1;
  }
  std::string pending;
  return readResponse(fd.get(), &pending).status;
}

TEST_F(MetricsTest, LoopbackOnlyUnlessOpened) {
  std::string local = nonLoopbackIpv4();
  if (local.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to test from";
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(statusFrom(local, port()), 403) << "from " << local;
  EXPECT_EQ(fetchGet(port(), "/metrics").status, 200);
  server_.stop();
  ASSERT_NO_FATAL_FAILURE(start({"--metrics-allow-remote"}));
  EXPECT_EQ(statusFrom(local, port()), 200) << "from " << local;
}

TEST_F(MetricsTest, PromtoolAcceptsAScrape) {
  if (!haveProgram("promtool")) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus; .ci/run installs it)";
  }
  ASSERT_NO_FATAL_FAILURE(start());
  fetchGet(port(), "/index.html");
  fetchGet(port(), "/nope");
  Response r = fetchGet(port(), "/metrics");
  ASSERT_EQ(r.status, 200) << r.describe();
  TempDir dir;
  ASSERT_TRUE(writeFile(dir.path() + "/scrape.txt", r.body));
  RunResult check = runShell("promtool check metrics < " + dir.path() + "/scrape.txt", 20000);
  EXPECT_EQ(check.exitCode, 0) << check.out;
  EXPECT_EQ(check.out, "") << "lint findings";
}

// A Prometheus server of our own on loopback, with its storage in a temporary directory; killed
// (by pid) when the test ends, whatever happens.
class PrometheusProcess {
 public:
  ~PrometheusProcess() { stop(); }
  bool start(const std::string& dir, uint16_t port, uint16_t target) {
    std::string config =
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: httpserver\n    metrics_path: /metrics\n"
        "    static_configs:\n      - targets: ['127.0.0.1:" +
        std::to_string(target) + "']\n";
    if (!writeFile(dir + "/prometheus.yml", config)) return false;
    TestFd log(::open((dir + "/prometheus.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    pid_ = ::fork();
    if (pid_ == 0) {
      prepareChild(log.get(), log.get());
      execOrDie("/usr/bin/prometheus",
                {"--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                 "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=warn"});
    }
    return pid_ > 0;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    waitFor([&] { return ::waitpid(pid_, nullptr, WNOHANG) != 0; }, 3000);
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

// The value of the first result of an instant-query response, or "" when it has none yet.
std::string firstValue(const std::string& json) {
  size_t at = json.find("\"value\":[");
  if (at == std::string::npos) return "";
  at = json.find(",\"", at);
  if (at == std::string::npos) return "";
  at += 2;
  return json.substr(at, json.find('"', at) - at);
}

TEST_F(MetricsTest, RealPrometheusScrapesItAndAnswersAQuery) {
  if (::access("/usr/bin/prometheus", X_OK) != 0) {
    GTEST_SKIP() << "prometheus not installed (Debian package prometheus; .ci/run installs it)";
  }
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 3; ++i) ASSERT_EQ(fetchGet(port(), "/nope").status, 404);
  TempDir dir;
  uint16_t promPort = pickFreePort();
  ASSERT_NE(promPort, 0);
  PrometheusProcess prometheus;
  ASSERT_TRUE(prometheus.start(dir.path(), promPort, port()));
  // Wait (at most 30 s) until a scrape has been stored and the query sees our 404s.
  const std::string query =
      "/api/v1/query?query=httpserver_http_responses_total%7Bjob%3D%22httpserver%22%2C"
      "code%3D%224xx%22%7D";
  std::string value, last;
  waitFor(
      [&] {
        Response r = fetchGet(promPort, query);
        last = r.status == 0 ? r.error : r.body;
        if (r.status == 200) value = firstValue(r.body);
        return !value.empty();
      },
      30000);
  ASSERT_FALSE(value.empty()) << "no answer from Prometheus; last reply: " << last << "\n"
                              << readFile(dir.path() + "/prometheus.log").value_or("");
  EXPECT_EQ(value, "3");
  Response up = fetchGet(promPort, "/api/v1/query?query=up%7Bjob%3D%22httpserver%22%7D");
  EXPECT_EQ(firstValue(up.body), "1") << up.body;
}

}  // namespace
}  // namespace hs::integration
