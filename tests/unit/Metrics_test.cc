#include "Metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace hs {
namespace {

std::string render(const MetricsSnapshot& s) {
  size_t need = renderMetrics(s, nullptr, 0);
  std::string out(need, '\0');
  EXPECT_EQ(renderMetrics(s, out.data(), out.size()), need);
  return out;
}

// A small server: two workers, a few responses.
std::unique_ptr<MetricsSnapshot> smallSnapshot() {
  auto s = std::make_unique<MetricsSnapshot>();
  s->masterPid = 100;
  s->generation = 2;
  s->startTime = 1'700'000'000;
  s->accepted = 12;
  s->handled = 11;
  s->requests = 30;
  s->active = 5;
  s->reading = 1;
  s->writing = 2;
  s->workerRestarts = 3;
  s->byClass[1] = 25;
  s->byClass[3] = 4;
  s->byClass[4] = 1;
  s->bytesSent = 123'456;
  s->durationSumUs = 2'500'250;
  s->duration[0] = 20;
  s->duration[3] = 8;
  s->duration[kDurationBuckets - 1] = 2;
  s->nworkers = 2;
  s->workers[0] = {.pid = 201,
                   .index = 0,
                   .generation = 2,
                   .live = 4,
                   .reading = 1,
                   .writing = 1,
                   .restarts = 0,
                   .taken = 6,
                   .requests = 20,
                   .poolThreads = 4,
                   .poolQueue = 1,
                   .poolDone = 7,
                   .poolWaitUs = 1500,
                   .poolRunUs = 2'000'250};
  s->workers[1] = {.pid = 202,
                   .index = 1,
                   .generation = 2,
                   .live = 1,
                   .reading = 0,
                   .writing = 1,
                   .restarts = 3,
                   .taken = 5,
                   .requests = 10};
  return s;
}

constexpr const char* kSmallText =
    "# HELP httpserver_start_time_seconds Start time of the master process since the epoch, in "
    "seconds.\n"
    "# TYPE httpserver_start_time_seconds gauge\n"
    "httpserver_start_time_seconds 1700000000\n"
    "# HELP httpserver_generation Current worker generation (one more per reload).\n"
    "# TYPE httpserver_generation gauge\n"
    "httpserver_generation 2\n"
    "# HELP httpserver_workers Worker processes running, of every generation.\n"
    "# TYPE httpserver_workers gauge\n"
    "httpserver_workers 2\n"
    "# HELP httpserver_worker_restarts_total Workers started again after they exited.\n"
    "# TYPE httpserver_worker_restarts_total counter\n"
    "httpserver_worker_restarts_total 3\n"
    "# HELP httpserver_connections_accepted_total Client connections accepted by the master "
    "(handed-back ones again).\n"
    "# TYPE httpserver_connections_accepted_total counter\n"
    "httpserver_connections_accepted_total 12\n"
    "# HELP httpserver_connections_handled_total Client connections taken by the workers.\n"
    "# TYPE httpserver_connections_handled_total counter\n"
    "httpserver_connections_handled_total 11\n"
    "# HELP httpserver_http_requests_total Requests answered.\n"
    "# TYPE httpserver_http_requests_total counter\n"
    "httpserver_http_requests_total 30\n"
    "# HELP httpserver_connections_active Open client connections.\n"
    "# TYPE httpserver_connections_active gauge\n"
    "httpserver_connections_active 5\n"
    "# HELP httpserver_connections_reading Connections reading a request.\n"
    "# TYPE httpserver_connections_reading gauge\n"
    "httpserver_connections_reading 1\n"
    "# HELP httpserver_connections_writing Connections sending a response.\n"
    "# TYPE httpserver_connections_writing gauge\n"
    "httpserver_connections_writing 2\n"
    "# HELP httpserver_connections_waiting Idle keep-alive connections (open, neither reading nor "
    "writing).\n"
    "# TYPE httpserver_connections_waiting gauge\n"
    "httpserver_connections_waiting 2\n"
    "# HELP httpserver_http_responses_total Responses sent, by status class.\n"
    "# TYPE httpserver_http_responses_total counter\n"
    "httpserver_http_responses_total{code=\"1xx\"} 0\n"
    "httpserver_http_responses_total{code=\"2xx\"} 25\n"
    "httpserver_http_responses_total{code=\"3xx\"} 0\n"
    "httpserver_http_responses_total{code=\"4xx\"} 4\n"
    "httpserver_http_responses_total{code=\"5xx\"} 1\n"
    "# HELP httpserver_sent_bytes_total Response bytes sent to clients, heads included.\n"
    "# TYPE httpserver_sent_bytes_total counter\n"
    "httpserver_sent_bytes_total 123456\n"
    "# HELP httpserver_http_request_duration_seconds Time from a request's first byte to its "
    "response's last byte handed to the kernel.\n"
    "# TYPE httpserver_http_request_duration_seconds histogram\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.0001\"} 20\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.00025\"} 20\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.0005\"} 20\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.001\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.0025\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.005\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.01\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.025\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.05\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.1\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.25\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"0.5\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"1\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"2.5\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"5\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"10\"} 28\n"
    "httpserver_http_request_duration_seconds_bucket{le=\"+Inf\"} 30\n"
    "httpserver_http_request_duration_seconds_sum 2.50025\n"
    "httpserver_http_request_duration_seconds_count 30\n"
    "# HELP httpserver_worker_connections Connections each worker holds, by state (waiting: idle "
    "keep-alive).\n"
    "# TYPE httpserver_worker_connections gauge\n"
    "httpserver_worker_connections{worker=\"0\",pid=\"201\",state=\"reading\"} 1\n"
    "httpserver_worker_connections{worker=\"0\",pid=\"201\",state=\"writing\"} 1\n"
    "httpserver_worker_connections{worker=\"0\",pid=\"201\",state=\"waiting\"} 2\n"
    "httpserver_worker_connections{worker=\"1\",pid=\"202\",state=\"reading\"} 0\n"
    "httpserver_worker_connections{worker=\"1\",pid=\"202\",state=\"writing\"} 1\n"
    "httpserver_worker_connections{worker=\"1\",pid=\"202\",state=\"waiting\"} 0\n"
    "# HELP httpserver_worker_requests_total Requests each worker answered.\n"
    "# TYPE httpserver_worker_requests_total counter\n"
    "httpserver_worker_requests_total{worker=\"0\",pid=\"201\"} 20\n"
    "httpserver_worker_requests_total{worker=\"1\",pid=\"202\"} 10\n"
    "# HELP httpserver_worker_pool_queue Tasks in each worker's thread pool: queued, running or "
    "not yet collected.\n"
    "# TYPE httpserver_worker_pool_queue gauge\n"
    "httpserver_worker_pool_queue{worker=\"0\",pid=\"201\"} 1\n"
    "httpserver_worker_pool_queue{worker=\"1\",pid=\"202\"} 0\n"
    "# HELP httpserver_worker_pool_tasks_total Tasks each worker's thread pool did.\n"
    "# TYPE httpserver_worker_pool_tasks_total counter\n"
    "httpserver_worker_pool_tasks_total{worker=\"0\",pid=\"201\"} 7\n"
    "httpserver_worker_pool_tasks_total{worker=\"1\",pid=\"202\"} 0\n"
    "# HELP httpserver_worker_pool_wait_seconds_total Time the pool's tasks waited in its queue.\n"
    "# TYPE httpserver_worker_pool_wait_seconds_total counter\n"
    "httpserver_worker_pool_wait_seconds_total{worker=\"0\",pid=\"201\"} 0.0015\n"
    "httpserver_worker_pool_wait_seconds_total{worker=\"1\",pid=\"202\"} 0\n"
    "# HELP httpserver_worker_pool_run_seconds_total Time the pool's tasks ran.\n"
    "# TYPE httpserver_worker_pool_run_seconds_total counter\n"
    "httpserver_worker_pool_run_seconds_total{worker=\"0\",pid=\"201\"} 2.00025\n"
    "httpserver_worker_pool_run_seconds_total{worker=\"1\",pid=\"202\"} 0\n";

TEST(MetricsTest, RendersTheExpositionFormat) { EXPECT_EQ(render(*smallSnapshot()), kSmallText); }

// The rendered text cut at every capacity: the prefix is right, nothing is written past the
// capacity, and the length returned is always the full one.
TEST(MetricsTest, CutAtEveryCapacityWritesOnlyThePrefix) {
  auto s = smallSnapshot();
  const std::string full = kSmallText;
  std::vector<char> buf(full.size() + 8);
  for (size_t cap = 0; cap <= full.size(); ++cap) {
    SCOPED_TRACE(cap);
    std::fill(buf.begin(), buf.end(), '#');
    ASSERT_EQ(renderMetrics(*s, buf.data(), cap), full.size());
    ASSERT_EQ(std::string(buf.data(), cap), full.substr(0, cap));
    ASSERT_EQ(std::string(buf.data() + cap, 8), "########");
  }
}

struct SecondsCase {
  const char* name;
  uint64_t us;
  const char* text;
};

constexpr SecondsCase kSecondsCases[] = {
    {"zero", 0, "0"},
    {"one microsecond", 1, "0.000001"},
    {"trailing zeros dropped", 120'000, "0.12"},
    {"whole seconds", 7'000'000, "7"},
    {"mixed", 3'000'050, "3.00005"},
    {"largest", UINT64_MAX, "18446744073709.551615"},
};

TEST(MetricsTest, DurationSumIsDecimalSeconds) {
  for (const SecondsCase& c : kSecondsCases) {
    SCOPED_TRACE(c.name);
    MetricsSnapshot s;
    s.durationSumUs = c.us;
    std::string text = render(s);
    std::string line = std::string("httpserver_http_request_duration_seconds_sum ") + c.text + "\n";
    EXPECT_NE(text.find(line), std::string::npos) << text;
  }
}

TEST(MetricsTest, EmptySnapshotHasEveryFamilyAndNoWorkerSamples) {
  MetricsSnapshot s;
  std::string text = render(s);
  EXPECT_NE(text.find("httpserver_http_request_duration_seconds_bucket{le=\"+Inf\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE httpserver_worker_connections gauge\n"), std::string::npos);
  EXPECT_EQ(text.find("httpserver_worker_connections{"), std::string::npos);
}

// std::atomic's default constructor value-initializes (C++20), so the table starts zeroed.
std::unique_ptr<SharedState> makeShared() { return std::make_unique<SharedState>(); }

void startWorker(SharedState& shared, int slot, int32_t pid, uint32_t index) {
  WorkerStats& w = shared.workers[slot];
  w.pid = pid;
  w.index = index;
  w.generation = 1;
}

TEST(MetricsTest, SnapshotSumsLiveWorkersAndTheBasesOfExitedOnes) {
  auto shared = makeShared();
  shared->masterPid = 50;
  shared->generation = 1;
  shared->startTime = 1234;
  shared->accepted = 40;
  shared->handledBase = 7;  // from workers that exited
  shared->requestsBase = 9;
  shared->workerRestarts = 2;
  startWorker(*shared, 3, 301, 0);
  shared->workers[3].live = 5;
  shared->workers[3].reading = 1;
  shared->workers[3].writing = 3;
  shared->workers[3].taken = 20;
  shared->workers[3].requests = 100;
  startWorker(*shared, 9, 302, 1);
  shared->workers[9].live = 2;
  shared->workers[9].taken = 13;
  shared->workers[9].requests = 50;
  // Slot 5's worker exited (pid 0): its response counters still count, its gauges do not.
  shared->workers[5].live = 99;
  recordResponse(shared->responses[5], 200, 1000, 50);
  recordResponse(shared->responses[3], 404, 200, 2'000);
  recordResponse(shared->responses[9], 200, 300, 20'000'000);

  auto s = std::make_unique<MetricsSnapshot>();
  takeSnapshot(*shared, s.get());
  EXPECT_EQ(s->masterPid, 50);
  EXPECT_EQ(s->startTime, 1234);
  EXPECT_EQ(s->accepted, 40u);
  EXPECT_EQ(s->handled, 7u + 20u + 13u);
  EXPECT_EQ(s->requests, 9u + 100u + 50u);
  EXPECT_EQ(s->active, 7u);
  EXPECT_EQ(s->reading, 1u);
  EXPECT_EQ(s->writing, 3u);
  EXPECT_EQ(s->waiting(), 3u);
  EXPECT_EQ(s->workerRestarts, 2u);
  EXPECT_EQ(s->byClass[1], 2u);
  EXPECT_EQ(s->byClass[3], 1u);
  EXPECT_EQ(s->bytesSent, 1500u);
  EXPECT_EQ(s->durationSumUs, 20'002'050u);
  EXPECT_EQ(s->duration[0], 1u);
  EXPECT_EQ(s->duration[durationBucket(2'000)], 1u);
  EXPECT_EQ(s->duration[kDurationBuckets - 1], 1u);
  ASSERT_EQ(s->nworkers, 2u);
  EXPECT_EQ(s->workers[0].pid, 301);
  EXPECT_EQ(s->workers[0].waiting(), 1u);
  EXPECT_EQ(s->workers[1].pid, 302);
  EXPECT_EQ(s->workers[1].index, 1u);
  EXPECT_EQ(s->workers[1].waiting(), 2u);
}

// Every slot in use: the text is long (the handler's buffer grows to it once), and each worker
// gets its four samples.
TEST(MetricsTest, EverySlotInUseRendersEveryWorker) {
  auto shared = makeShared();
  for (int slot = 0; slot < kMaxWorkerSlots; ++slot) {
    startWorker(*shared, slot, 100'000 + slot, static_cast<uint32_t>(slot % 256));
  }
  auto s = std::make_unique<MetricsSnapshot>();
  takeSnapshot(*shared, s.get());
  ASSERT_EQ(s->nworkers, static_cast<uint32_t>(kMaxWorkerSlots));
  std::string text = render(*s);
  size_t samples = 0;
  for (size_t at = 0; (at = text.find("{worker=\"", at)) != std::string::npos; ++at) ++samples;
  EXPECT_EQ(samples, 8u * kMaxWorkerSlots);
  EXPECT_NE(text.find("{worker=\"255\",pid=\"100511\"}"), std::string::npos);
}

// The page's own request is still counted as reading when it is answered: it moves to writing in
// its worker and in the totals, and nowhere else.
TEST(MetricsTest, OwnRequestCountsAsWriting) {
  struct Case {
    const char* name;
    int32_t pid;
    uint32_t reading0, writing0, reading1, writing1;
  };
  const Case cases[] = {
      {"the asking worker", 201, 0, 2, 0, 1},
      {"another worker's pid: unchanged", 202, 1, 1, 0, 1},
      {"an unknown pid: unchanged", 999, 1, 1, 0, 1},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = smallSnapshot();
    countOwnRequestAsWriting(s.get(), c.pid);
    EXPECT_EQ(s->workers[0].reading, c.reading0);
    EXPECT_EQ(s->workers[0].writing, c.writing0);
    EXPECT_EQ(s->workers[1].reading, c.reading1);
    EXPECT_EQ(s->workers[1].writing, c.writing1);
    EXPECT_EQ(s->reading + s->writing, 3u);
    EXPECT_EQ(s->writing, c.pid == 201 ? 3u : 2u);
  }
}

// Each app is one sample per family, labelled with its name; without apps no app family.
TEST(MetricsTest, AppsRenderOneSampleEachPerFamily) {
  auto s = std::make_unique<MetricsSnapshot>();
  EXPECT_EQ(render(*s).find("httpserver_app_"), std::string::npos);
  s->napps = 2;
  s->apps[0] = {.name = "php",
                .generation = 3,
                .processes = 4,
                .restarts = 2,
                .busy = 1,
                .queued = 5,
                .requests = 100,
                .failures = 7};
  s->apps[1] = {.name = "go", .processes = 2, .requests = 9};
  const std::string text = render(*s);
  for (const char* line :
       {"httpserver_app_processes{app=\"php\"} 4\n", "httpserver_app_processes{app=\"go\"} 2\n",
        "httpserver_app_busy{app=\"php\"} 1\n", "httpserver_app_queue{app=\"php\"} 5\n",
        "httpserver_app_requests_total{app=\"php\"} 100\n",
        "httpserver_app_requests_total{app=\"go\"} 9\n",
        "httpserver_app_failures_total{app=\"php\"} 7\n",
        "httpserver_app_restarts_total{app=\"php\"} 2\n",
        "# TYPE httpserver_app_requests_total counter\n", "# TYPE httpserver_app_busy gauge\n"}) {
    SCOPED_TRACE(line);
    EXPECT_NE(text.find(line), std::string::npos) << text;
  }
}

// The shared slots: those in use, in slot order, busy summed over the generations.
TEST(MetricsTest, AppSnapshotReadsTheSlotsInUse) {
  auto shared = std::make_unique<SharedState>();
  AppStats& a = shared->apps[3];
  std::snprintf(a.name, sizeof a.name, "%s", "api");
  a.processes = 2;
  a.busy[0] = 1;
  a.busy[1] = 2;
  a.queued = 4;
  a.requests = 50;
  a.failures = 1;
  a.restarts = 3;
  a.generation = 2;
  a.inUse = 1;
  std::snprintf(shared->apps[5].name, sizeof a.name, "%s", "gone");  // not in use
  auto s = std::make_unique<MetricsSnapshot>();
  takeAppSnapshot(*shared, s.get());
  ASSERT_EQ(s->napps, 1u);
  EXPECT_STREQ(s->apps[0].name, "api");
  EXPECT_EQ(s->apps[0].busy, 3u);
  EXPECT_EQ(s->apps[0].queued, 4u);
  EXPECT_EQ(s->apps[0].requests, 50u);
  EXPECT_EQ(s->apps[0].failures, 1u);
  EXPECT_EQ(s->apps[0].restarts, 3u);
  EXPECT_EQ(s->apps[0].processes, 2u);
  EXPECT_EQ(s->apps[0].generation, 2u);
}

}  // namespace
}  // namespace hs

namespace hs {
namespace {

// Upstream servers: summed over the live workers of the current generation, named by the groups.
TEST(MetricsTest, UpstreamServersAreSummedAndLabelled) {
  auto shared = std::make_unique<SharedState>();
  shared->generation = 2;
  auto start = [&](int slot, int32_t pid, uint32_t generation) {
    shared->workers[slot].pid = pid;
    shared->workers[slot].generation = generation;
  };
  start(0, 10, 2);
  start(1, 11, 2);
  start(2, 12, 1);  // a retiring worker of the old configuration: not counted
  auto set = [&](int slot, int server, uint32_t active, uint64_t requests, uint64_t failures,
                 uint32_t down) {
    UpstreamServerStats& st = shared->upstreams[slot].servers[server];
    st.active = active;
    st.requests = requests;
    st.failures = failures;
    st.down = down;
  };
  set(0, 0, 1, 100, 0, 0);
  set(1, 0, 2, 50, 1, 0);
  set(0, 1, 0, 7, 3, 1);  // taken out in worker 0 only
  set(2, 0, 9, 999, 999, 1);
  set(5, 0, 9, 999, 999, 1);  // no worker in slot 5
  std::vector<UpstreamGroupSpec> groups(1);
  groups[0].name = "g";
  groups[0].servers.resize(3);
  groups[0].servers[0].address = "127.0.0.1:9001";
  groups[0].servers[1].address = "unix:/run/b.sock";
  groups[0].servers[2].address = "127.0.0.1:9003";
  groups[0].servers[2].backup = true;

  auto s = std::make_unique<MetricsSnapshot>();
  takeSnapshot(*shared, s.get());
  EXPECT_EQ(s->upstreams[0].active, 3u);
  EXPECT_EQ(s->upstreams[0].requests, 150u);
  EXPECT_EQ(s->upstreams[0].failures, 1u);
  EXPECT_EQ(s->upstreams[0].downIn, 0u);
  EXPECT_EQ(s->upstreams[1].downIn, 1u);
  EXPECT_STREQ(upstreamState(groups[0].servers[0], s->upstreams[0]), "up");
  EXPECT_STREQ(upstreamState(groups[0].servers[1], s->upstreams[1]), "down");
  EXPECT_STREQ(upstreamState(groups[0].servers[2], s->upstreams[2]), "backup");

  size_t need = renderMetrics(*s, nullptr, 0, &groups);
  std::string text(need, '\0');
  ASSERT_EQ(renderMetrics(*s, text.data(), text.size(), &groups), need);
  for (const char* line : {
           "# TYPE httpserver_upstream_up gauge\n",
           "httpserver_upstream_up{upstream=\"g\",server=\"127.0.0.1:9001\"} 1\n",
           "httpserver_upstream_up{upstream=\"g\",server=\"unix:/run/b.sock\"} 0\n",
           "httpserver_upstream_backup{upstream=\"g\",server=\"127.0.0.1:9003\"} 1\n",
           "httpserver_upstream_active{upstream=\"g\",server=\"127.0.0.1:9001\"} 3\n",
           "# TYPE httpserver_upstream_requests_total counter\n",
           "httpserver_upstream_requests_total{upstream=\"g\",server=\"127.0.0.1:9001\"} 150\n",
           "httpserver_upstream_failures_total{upstream=\"g\",server=\"unix:/run/b.sock\"} 3\n",
       }) {
    SCOPED_TRACE(line);
    EXPECT_NE(text.find(line), std::string::npos) << text;
  }
  // Without groups (or with none) nothing about upstreams is written.
  std::vector<UpstreamGroupSpec> none;
  EXPECT_EQ(renderMetrics(*s, nullptr, 0, &none), renderMetrics(*s, nullptr, 0));
}

}  // namespace
}  // namespace hs
