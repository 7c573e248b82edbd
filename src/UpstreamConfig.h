// The upstream groups of the configuration (`upstream NAME { server ADDR ...; }` at the top level,
// nginx's syntax): which servers each group has, with their weights and passive health settings,
// and how a request chooses among them. Compiled from Config::routing and checked once; pure (no
// syscalls). Shared by the FastCGI gateway (fastcgi_pass NAME) and the HTTP proxy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "Config.h"

namespace hs {

enum class Balance : uint8_t { kRoundRobin, kLeastConn, kHash };

struct UpstreamServerSpec {
  std::string address;  // "HOST:PORT" (numeric, IPv6 in brackets) or "unix:/PATH"
  uint32_t weight = 1;
  uint32_t maxFails = 1;  // failures within failTimeoutMs that take it out; 0: never
  int failTimeoutMs = 10'000;
  bool backup = false;  // used only while every primary server is down
  bool down = false;    // never used (taken out by hand)
  int line = 0;
};

struct UpstreamGroupSpec {
  std::string name;
  std::vector<UpstreamServerSpec> servers;  // in file order
  Balance balance = Balance::kRoundRobin;
  int keepalive = -1;  // idle connections kept per server and worker; -1: as many as are open
  std::string file;    // where the block is, for messages
  int line = 0;
};

constexpr uint32_t kMaxUpstreamWeight = 1000;
constexpr size_t kMaxGroupServers = 64;     // a request's tried servers fit a 64-bit mask
constexpr size_t kMaxUpstreamServers = 64;  // every group's servers together (shared counters)

// Compiles every `upstream` block of cfg.routing into *out, in file order. Returns false with
// *err = "FILE:LINE: reason" at the first error: a bad address, weight or number, an unknown
// parameter, an empty group, a group of backups only, a name used twice or also an app's name.
bool compileUpstreams(const Config& cfg, std::vector<UpstreamGroupSpec>* out, std::string* err);

// The group called `name`, or nullptr.
const UpstreamGroupSpec* findUpstreamGroup(const std::vector<UpstreamGroupSpec>& groups,
                                           std::string_view name);

const char* balanceName(Balance b);

}  // namespace hs
