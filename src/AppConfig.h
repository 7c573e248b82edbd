// The application pools of the configuration (`app NAME { ... }` at the top level): what the
// master runs for each, compiled from Config::routing and checked once. Pure apart from nothing:
// no syscalls; whether the command exists is ConfigCheck's business.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "Config.h"

namespace hs {

struct AppSpec {
  std::string name;
  std::vector<std::string> command;  // argv; command[0] is an absolute path
  int processes = 1;
  std::string socketPath;        // "" : a private socket the master creates
  std::vector<std::string> env;  // NAME=VALUE, applied over the master's environment
  std::string user;              // "" : the workers' user
  uint64_t maxRequests = 0;      // 0: never recycle
  // Each worker's queue of requests waiting for a connection to the app when all are busy: at
  // most `queue` (0: none), each for at most queueTimeoutMs; a full queue or one that times out
  // is answered 503 with Retry-After.
  uint32_t queue = 64;
  int queueTimeoutMs = 10'000;
  std::string file;  // where the block is, for messages
  int line = 0;

  bool operator==(const AppSpec& o) const {
    return name == o.name && command == o.command && processes == o.processes &&
           socketPath == o.socketPath && env == o.env && user == o.user &&
           maxRequests == o.maxRequests && queue == o.queue && queueTimeoutMs == o.queueTimeoutMs;
  }
};

constexpr int kMaxAppProcesses = 256;
constexpr uint32_t kMaxAppQueue = 100'000;

// Compiles every `app` block of cfg.routing into *out, in file order. Returns false with
// *err = "FILE:LINE: reason" at the first error (a missing command, a bad number, a relative or
// non-unix socket, an env entry without '=', a name used twice).
bool compileApps(const Config& cfg, std::vector<AppSpec>* out, std::string* err);

// The app called `name`, or nullptr.
const AppSpec* findApp(const std::vector<AppSpec>& apps, std::string_view name);

}  // namespace hs
