#include "Wait.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <iostream>

namespace hs::integration {

namespace {

double readTimeScale() {
  const char* v = std::getenv("HTTPSERVER_TEST_TIME_SCALE");
  if (v == nullptr || *v == '\0') return 1.0;
  char* end = nullptr;
  double scale = std::strtod(v, &end);
  if (end == v || *end != '\0' || !std::isfinite(scale) || scale < 1.0) {
    std::cerr << "HTTPSERVER_TEST_TIME_SCALE=" << v << " is not a number >= 1; using 1\n";
    return 1.0;
  }
  return scale;
}

}  // namespace

double timeScale() {
  static const double scale = readTimeScale();
  return scale;
}

int scaled(int ms) { return static_cast<int>(std::ceil(ms * timeScale())); }

Clock::time_point deadlineIn(int ms) {
  return Clock::now() + std::chrono::milliseconds(scaled(ms));
}

int64_t msSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

void pace(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

std::optional<long long> jsonNumber(std::string_view json, std::string_view key) {
  std::string needle = "\"" + std::string(key) + "\":";
  size_t at = json.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::string rest(json.substr(at + needle.size(), 24));
  char* end = nullptr;
  long long v = std::strtoll(rest.c_str(), &end, 10);
  if (end == rest.c_str()) return std::nullopt;
  return v;
}

Response statusJson(uint16_t port, std::string_view path) {
  return fetchGet(port, std::string(path) + "?json");
}

long long waitActive(uint16_t port, long long want, int timeoutMs) {
  long long last = -1;
  waitFor(
      [&] {
        Response r = statusJson(port);
        last = r.status == 200 ? jsonNumber(r.body, "active").value_or(-1) : -1;
        return last == want;
      },
      timeoutMs);
  return last;
}

bool waitAllHandled(uint16_t port, int timeoutMs, std::string_view path) {
  return waitFor(
      [&] {
        Response r = statusJson(port, path);
        auto accepted = jsonNumber(r.body, "accepts");
        return r.status == 200 && accepted && accepted == jsonNumber(r.body, "handled");
      },
      timeoutMs);
}

int64_t cpuMs(pid_t pid) {
  auto stat = readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return -1;
  size_t close = stat->rfind(')');
  if (close == std::string::npos) return -1;
  // After ") " come the state letter (field 3) and then numbers; utime is field 14, stime 15.
  const char* p = stat->c_str() + close + 2;
  while (*p != '\0' && *p != ' ') ++p;
  char* end = nullptr;
  long long fields[16] = {};
  for (int i = 4; i <= 15; ++i) {
    fields[i] = std::strtoll(p, &end, 10);
    p = end;
  }
  long tick = ::sysconf(_SC_CLK_TCK);
  if (tick <= 0) return -1;
  return (fields[14] + fields[15]) * 1000 / tick;
}

bool waitGone(pid_t pid, int timeoutMs) {
  return waitFor([&] { return !processAlive(pid); }, timeoutMs);
}

}  // namespace hs::integration
