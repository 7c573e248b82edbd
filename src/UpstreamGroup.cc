#include "UpstreamGroup.h"

#include "Log.h"
#include "SingleWriter.h"

namespace hs {
namespace {

constexpr int kHashTries = 20;  // rehashes before the hash gives way to round robin (nginx's)

uint32_t mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x7feb352d;
  h ^= h >> 15;
  h *= 0x846ca68b;
  h ^= h >> 16;
  return h;
}

}  // namespace

UpstreamGroup::UpstreamGroup(const UpstreamGroupSpec& spec, const std::vector<Upstream*>& upstreams)
    : name_(spec.name), balance_(spec.balance) {
  servers_.resize(spec.servers.size());
  int primaries = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    servers_[i].upstream = upstreams[i];
    servers_[i].spec = spec.servers[i];
    servers_[i].effectiveWeight = static_cast<int>(spec.servers[i].weight);
    primaries += spec.servers[i].backup ? 0 : 1;
  }
  single_ = primaries == 1 && servers_.size() == 1;
}

uint32_t UpstreamGroup::clientKey(const sockaddr_in6* peer) {
  if (peer == nullptr) return 0;
  const uint8_t* bytes = peer->sin6_addr.s6_addr;
  size_t n = 16;
  if (peer->sin6_family == AF_INET) {
    bytes = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(peer)->sin_addr);
    n = 4;
  } else if (peer->sin6_family != AF_INET6) {
    return 0;
  }
  uint32_t h = 2166136261u;  // FNV-1a over the address bytes
  for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 16777619u;
  return h;
}

void UpstreamGroup::publishTo(UpstreamServerStats* stats) {
  stats_ = stats;
  for (size_t i = 0; i < servers_.size(); ++i) {
    UpstreamServerStats& st = stats[i];
    st.active.store(servers_[i].active, std::memory_order_relaxed);
    st.down.store(isDown(static_cast<int>(i)) ? 1 : 0, std::memory_order_relaxed);
    st.requests.store(servers_[i].requests, std::memory_order_relaxed);
    st.failures.store(servers_[i].failures, std::memory_order_relaxed);
  }
}

UpstreamServerStats* UpstreamGroup::statsOf(const Server& s) const {
  return stats_ == nullptr ? nullptr : stats_ + (&s - servers_.data());
}

// 0: up again.
void UpstreamGroup::setDown(Server& s, int64_t untilMs) {
  s.downUntilMs = untilMs;
  if (UpstreamServerStats* st = statsOf(s); st != nullptr) {
    st->down.store(untilMs != 0 || s.spec.down ? 1 : 0, std::memory_order_relaxed);
  }
}

bool UpstreamGroup::isDown(int i) const {
  const Server& s = server(i);
  return s.spec.down || s.downUntilMs != 0;
}

uint64_t UpstreamGroup::candidates(bool backups, uint64_t tried, int64_t nowMs) const {
  uint64_t mask = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    const Server& s = servers_[i];
    if (s.spec.backup != backups || s.spec.down || (tried & (1ull << i)) != 0) continue;
    if (s.downUntilMs != 0 && nowMs < s.downUntilMs) continue;
    mask |= 1ull << i;
  }
  return mask;
}

// nginx's smooth weighted round robin over the servers in `mask`: each gains its effective weight,
// the one with the most is chosen and gives back the sum. Weights 5, 1, 1 give a a b a c a a.
int UpstreamGroup::roundRobin(uint64_t mask) {
  int best = kNone;
  int total = 0;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if ((mask & (1ull << i)) == 0) continue;
    Server& s = servers_[i];
    s.currentWeight += s.effectiveWeight;
    total += s.effectiveWeight;
    if (s.effectiveWeight < static_cast<int>(s.spec.weight)) ++s.effectiveWeight;
    if (best == kNone || s.currentWeight > servers_[static_cast<size_t>(best)].currentWeight) {
      best = static_cast<int>(i);
    }
  }
  if (best != kNone) servers_[static_cast<size_t>(best)].currentWeight -= total;
  return best;
}

// The fewest requests in flight for the weight (a/wa < b/wb, compared as a*wb < b*wa); ties are
// shared by round robin among the tied servers.
int UpstreamGroup::leastConn(uint64_t mask) {
  uint64_t ties = 0;
  const Server* best = nullptr;
  for (size_t i = 0; i < servers_.size(); ++i) {
    if ((mask & (1ull << i)) == 0) continue;
    const Server& s = servers_[i];
    uint64_t mine = uint64_t{s.active} * (best == nullptr ? 1 : best->spec.weight);
    uint64_t theirs = best == nullptr ? 0 : uint64_t{best->active} * s.spec.weight;
    if (best == nullptr || mine < theirs) {
      best = &s;
      ties = 0;
    }
    if (best == &s || mine == theirs) ties |= 1ull << i;
  }
  return roundRobin(ties);
}

// A point in the summed weights of the group's primaries (or backups) from the client's key; a
// server that cannot take the request makes it rehash, and after kHashTries round robin decides.
int UpstreamGroup::hashed(uint64_t mask, bool backups, uint32_t key) {
  uint64_t total = 0;
  for (const Server& s : servers_) total += s.spec.backup == backups ? s.spec.weight : 0;
  for (int attempt = 0; attempt < kHashTries && total > 0; ++attempt) {
    uint64_t point = mix(key + static_cast<uint32_t>(attempt) * 0x9e3779b9u) % total;
    for (size_t i = 0; i < servers_.size(); ++i) {
      const Server& s = servers_[i];
      if (s.spec.backup != backups) continue;
      if (point < s.spec.weight) {
        if ((mask & (1ull << i)) != 0) return static_cast<int>(i);
        break;
      }
      point -= s.spec.weight;
    }
  }
  return roundRobin(mask);
}

int UpstreamGroup::pick(uint64_t tried, uint32_t clientKey, int64_t nowMs) {
  int chosen = kNone;
  for (bool backups : {false, true}) {
    uint64_t mask = candidates(backups, tried, nowMs);
    if (mask == 0) continue;
    if (balance_ == Balance::kLeastConn) {
      chosen = leastConn(mask);
    } else if (balance_ == Balance::kHash) {
      chosen = hashed(mask, backups, clientKey);
    } else {
      chosen = roundRobin(mask);
    }
    break;
  }
  if (chosen == kNone) return kNone;
  Server& s = servers_[static_cast<size_t>(chosen)];
  // Out and its time is over: this request is the probe; no other until it is judged (or
  // until another fail_timeout, should it never be).
  if (s.downUntilMs != 0) s.downUntilMs = nowMs + s.spec.failTimeoutMs;
  ++s.active;
  ++s.requests;
  if (UpstreamServerStats* st = statsOf(s); st != nullptr) {
    bump(st->active);
    bump(st->requests);
  }
  return chosen;
}

void UpstreamGroup::finish(int server, UpstreamOutcome outcome, int64_t nowMs) {
  Server& s = servers_[static_cast<size_t>(server)];
  UpstreamServerStats* st = statsOf(s);
  if (s.active > 0) {
    --s.active;
    if (st != nullptr) drop(st->active);
  }
  if (outcome == UpstreamOutcome::kSuccess) {
    if (s.downUntilMs != 0) {
      LOG_INFO("upstream %s: server %s is back", name_.c_str(), s.spec.address.c_str());
      setDown(s, 0);
    }
    s.fails = 0;
    return;
  }
  if (outcome != UpstreamOutcome::kFailure) return;
  ++s.failures;
  if (st != nullptr) bump(st->failures);
  if (s.spec.maxFails == 0 || single_) return;
  if (s.downUntilMs != 0) {  // a failed probe (or a late failure): out for another fail_timeout
    s.downUntilMs = nowMs + s.spec.failTimeoutMs;
    return;
  }
  if (s.fails == 0 || nowMs - s.windowStartMs >= s.spec.failTimeoutMs) {
    s.fails = 0;
    s.windowStartMs = nowMs;
  }
  s.effectiveWeight -= static_cast<int>(s.spec.weight / s.spec.maxFails);
  if (s.effectiveWeight < 0) s.effectiveWeight = 0;
  if (++s.fails >= s.spec.maxFails) {
    setDown(s, nowMs + s.spec.failTimeoutMs);
    LOG_WARN("upstream %s: server %s temporarily disabled for %d ms after %u failures",
             name_.c_str(), s.spec.address.c_str(), s.spec.failTimeoutMs, s.fails);
  }
}

}  // namespace hs
