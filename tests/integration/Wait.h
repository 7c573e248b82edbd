// Waiting in the integration tests: a test waits for a condition (the status page, /proc, a
// socket, a file), never for a fixed time. Every wall-clock bound a test may exceed on a slow
// machine goes through scaled(), which multiplies it by $HTTPSERVER_TEST_TIME_SCALE (default 1).
// Lower bounds (the server must not act before its own timeout) and windows in which nothing may
// happen are not scaled: slowness cannot make them fail.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "TestServer.h"

namespace hs::integration {

using Clock = std::chrono::steady_clock;

// $HTTPSERVER_TEST_TIME_SCALE as a number >= 1; 1 when unset or not such a number.
double timeScale();
// A bound of `ms` milliseconds, loosened by timeScale().
int scaled(int ms);
int64_t msSince(Clock::time_point t);

// Paces a client that is slow on purpose (a byte every 200 ms, a read every 100 ms). Not for
// waiting: a wait is waitFor() on the condition.
void pace(int ms);

// The moment scaled(ms) milliseconds from now: a deadline shared by several waits.
Clock::time_point deadlineIn(int ms);

// Polls `pred` (every 2 ms at first, then up to every 20 ms) until it holds or `deadline` passes.
// Returns whether it held; pred's last call was the one that decided.
template <typename Pred>
bool waitUntil(Pred&& pred, Clock::time_point deadline) {
  int step = 2;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(step));
    step = step < 20 ? step * 2 : 20;
  }
}

// waitUntil(pred, deadlineIn(timeoutMs)).
template <typename Pred>
bool waitFor(Pred&& pred, int timeoutMs) {
  return waitUntil(pred, deadlineIn(timeoutMs));
}

// For "nothing happens" checks: true if `pred` holds at every poll for ms milliseconds (not
// scaled), false as soon as it does not.
template <typename Pred>
bool holdsFor(Pred&& pred, int ms) {
  auto end = Clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    if (!pred()) return false;
    if (Clock::now() >= end) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// ---- the status page (server started with --status-path) ----

// Value of "key":NUMBER in a flat JSON text (the first occurrence); nullopt when absent.
std::optional<long long> jsonNumber(std::string_view json, std::string_view key);
// The status page in JSON form, on a fresh connection.
Response statusJson(uint16_t port, std::string_view path = "/server-status");
// Polls the status page until "active" equals `want` (the status request itself counts as one);
// returns the last value seen, or -1 if the page could not be read.
long long waitActive(uint16_t port, long long want, int timeoutMs);
// Polls the status page until accepted == handled: every connection the master took (the
// harness's readiness probes included) has reached a worker. False on timeout.
bool waitAllHandled(uint16_t port, int timeoutMs, std::string_view path = "/server-status");

// ---- /proc ----

// utime + stime of a process in milliseconds (fields 14 and 15 of /proc/PID/stat); -1 if
// unreadable.
int64_t cpuMs(pid_t pid);
// Waits until `pid` is gone or a zombie.
bool waitGone(pid_t pid, int timeoutMs);

}  // namespace hs::integration
