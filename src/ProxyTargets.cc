#include "ProxyTargets.h"

#include "HttpLexical.h"

namespace hs {

namespace {

constexpr std::pair<std::string_view, std::string_view> kDefaultHeaders[] = {
    {"Host", "$proxy_host"},
    {"X-Forwarded-For", "$proxy_add_x_forwarded_for"},
    {"X-Real-IP", "$remote_addr"},
    {"X-Forwarded-Proto", "$scheme"},
    {"Forwarded", "$proxy_add_forwarded"},
};

}  // namespace

std::string ProxyTargets::headerRules(const LocationSettings& s, std::vector<UpstreamField>* out) {
  out->clear();
  auto set = [&](std::string_view name, std::string_view value) -> std::string {
    UpstreamField* h = nullptr;
    for (UpstreamField& e : *out) h = equalsIgnoreCase(e.name, name) ? &e : h;
    if (h == nullptr) h = &out->emplace_back();
    h->name = name;
    h->remove = value.empty();
    std::string err;
    return h->value.compile(value, LogEscape::kNone, &err) ? "" : err;
  };
  for (const auto& [name, value] : kDefaultHeaders) set(name, value);
  for (const HeaderRule& r : s.proxySetHeaders) {
    std::string why = set(r.name, r.value);
    if (!why.empty()) return "'proxy_set_header' " + why;
  }
  return "";
}

std::string ProxyTargets::addLocation(const Location& loc, const Config& cfg, UpstreamPool* pool,
                                      std::vector<std::pair<const void*, ProxyTarget>>* out) {
  const LocationSettings& s = loc.settings;
  const std::string where = loc.file + ":" + std::to_string(loc.line) + ": ";
  ProxyPass pass;
  std::string why = parseProxyPass(s.proxyPass, &pass);
  if (!why.empty()) return where + "'proxy_pass' " + why;
  Upstream* up = nullptr;
  for (const auto& [a, u] : upstreams_) up = a == pass.address ? u : up;
  if (up == nullptr) {
    UpstreamLimits limits;
    limits.maxConns = static_cast<uint32_t>(cfg.conns > 0 ? cfg.conns : 1);
    limits.maxIdle = kKeepalive;
    limits.connectTimeoutMs = s.proxyConnectTimeoutMs;
    up = pool->add(pass.address, limits);
    if (up == nullptr) return where + "'proxy_pass' " + s.proxyPass + " is not an address";
    upstreams_.emplace_back(pass.address, up);
  }
  ProxyTarget t;
  t.upstream = up;
  t.proxyHost = pass.proxyHost;
  t.hasUri = pass.hasUri;
  t.uri = pass.uri;
  t.cut = s.proxyCut;
  t.sendTimeoutMs = s.proxySendTimeoutMs;
  t.readTimeoutMs = s.proxyReadTimeoutMs;
  why = headerRules(s, &t.headers);
  if (!why.empty()) return where + why;
  out->emplace_back(&loc, std::move(t));
  return "";
}

std::string ProxyTargets::build(const RouteConfig& routes, const Config& cfg, UpstreamPool* pool,
                                std::vector<std::pair<const void*, ProxyTarget>>* out) {
  return forEachLocation(routes, [&](const Location& loc) -> std::string {
    return loc.settings.proxyPass.empty() ? "" : addLocation(loc, cfg, pool, out);
  });
}

}  // namespace hs
