// One upstream group in one worker: its servers (each an Upstream of the worker's UpstreamPool,
// opaque here) and the choice of a server for each request. Smooth weighted round robin (nginx's),
// least connections (the worker's requests in flight, relative to the weights) or a hash of the
// client address (the same server in every worker, other servers when it is out); backups only
// while no primary server can take the request. Passive health as nginx does it: `maxFails`
// failures within `failTimeoutMs` take a server out for `failTimeoutMs`, then one request probes
// it, and its success brings it back. Knows nothing of the protocol spoken to the servers (the
// FastCGI gateway and the HTTP proxy both use it) nor of sockets; time is passed in. Every pick()
// that returns a server is matched by exactly one finish() for it.
#pragma once

#include <netinet/in.h>

#include <cstdint>
#include <string>
#include <vector>

#include "SharedState.h"
#include "UpstreamConfig.h"

namespace hs {

class Upstream;

enum class UpstreamOutcome : uint8_t {
  kSuccess,  // the server answered (whatever its status, unless the user counts it as failed)
  kFailure,  // connect error, timeout, or an answer the user treats as failed (502-class)
  kNeither,  // the request went away before the server could be judged
};

class UpstreamGroup {
 public:
  static constexpr int kNone = -1;  // no live server: answer 502 at once ("no live upstreams")

  struct Server {
    Upstream* upstream = nullptr;
    UpstreamServerSpec spec;
    int currentWeight = 0;  // smooth weighted round robin's state
    int effectiveWeight = 0;
    uint32_t active = 0;  // requests of this worker on it now
    uint32_t fails = 0;   // failures in the window that began at windowStartMs
    int64_t windowStartMs = 0;
    int64_t downUntilMs = 0;  // 0: up; else out until then, then one probe (which moves it on)
    uint64_t requests = 0;
    uint64_t failures = 0;
  };

  // `upstreams[i]` is where spec.servers[i] is reached.
  UpstreamGroup(const UpstreamGroupSpec& spec, const std::vector<Upstream*>& upstreams);

  // Chooses a server for a request that already tried the servers whose bits are set in `tried`
  // (bit i: server i). `clientKey` is clientKey(peer), used by Balance::kHash. Returns the
  // server's index, now counting the request as active on it, or kNone.
  int pick(uint64_t tried, uint32_t clientKey, int64_t nowMs);
  // The request pick() sent to `server` is done there.
  void finish(int server, UpstreamOutcome outcome, int64_t nowMs);

  // From now on the servers' figures are also kept in stats[0..size()) (shared memory, this
  // worker's slot), zeroed here.
  void publishTo(UpstreamServerStats* stats);

  // A stable key of the client's address, the same in every worker (0 without one).
  static uint32_t clientKey(const sockaddr_in6* peer);

  const std::string& name() const { return name_; }
  Balance balance() const { return balance_; }
  int size() const { return static_cast<int>(servers_.size()); }
  const Server& server(int i) const { return servers_[static_cast<size_t>(i)]; }
  Upstream* upstream(int i) const { return servers_[static_cast<size_t>(i)].upstream; }
  // Taken out by hand or by failures (and not yet back through a successful request).
  bool isDown(int i) const;

 private:
  uint64_t candidates(bool backups, uint64_t tried, int64_t nowMs) const;
  int roundRobin(uint64_t mask);
  int leastConn(uint64_t mask);
  int hashed(uint64_t mask, bool backups, uint32_t key);
  void setDown(Server& s, int64_t untilMs);
  UpstreamServerStats* statsOf(const Server& s) const;

  std::string name_;
  Balance balance_;
  bool single_;  // one primary server: never taken out (nginx's rule, nothing else to try)
  std::vector<Server> servers_;
  UpstreamServerStats* stats_ = nullptr;
};

}  // namespace hs
