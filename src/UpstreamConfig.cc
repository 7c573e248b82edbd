#include "UpstreamConfig.h"

#include "ConfGrammar.h"
#include "ConfValue.h"

namespace hs {
namespace {

std::string where(const ConfNode& n) { return n.file + ":" + std::to_string(n.line) + ": "; }

std::string checkAddress(const std::string& a) {
  for (char ch : a) {
    // Shown as they are on the status page (JSON) and in the metrics' labels.
    if (static_cast<unsigned char>(ch) <= ' ' || ch == '"' || ch == '\\' || ch == 0x7f) {
      return "server address '" + a + "' has a space, quote, backslash or control character";
    }
  }
  if (a.starts_with("unix:")) {
    if (a.size() < 7 || a[5] != '/' || a.size() - 5 > 107) {
      return "a unix socket must be unix:/ABSOLUTE/PATH (at most 107 bytes), not '" + a + "'";
    }
    return "";
  }
  std::string ip;
  uint16_t port = 0;
  Problem p;
  if (!parseAddress(a, &ip, &port, &p)) {
    return "server address must be IP:PORT, [IPv6]:PORT or unix:/PATH, not '" + a + "'";
  }
  return "";
}

// One `NAME=VALUE` or flag parameter of a server line; "" or the reason.
std::string applyServerParam(std::string_view arg, UpstreamServerSpec* s) {
  if (arg == "backup" || arg == "down") {
    (arg == "backup" ? s->backup : s->down) = true;
    return "";
  }
  size_t eq = arg.find('=');
  std::string_view key = arg.substr(0, eq);
  std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
  Problem p;
  if (key == "weight" && eq != std::string_view::npos) {
    if (!parseInto(value, 1, kMaxUpstreamWeight, &s->weight, &p)) {
      return "weight must be 1.." + std::to_string(kMaxUpstreamWeight) + ", not '" +
             std::string(value) + "'";
    }
    return "";
  }
  if (key == "max_fails" && eq != std::string_view::npos) {
    if (!parseInto(value, 0, 1'000'000, &s->maxFails, &p)) {
      return "max_fails must be a number (0: never), not '" + std::string(value) + "'";
    }
    return "";
  }
  if (key == "fail_timeout" && eq != std::string_view::npos) {
    if (!parseTimeout(value, &s->failTimeoutMs, &p)) {
      return "fail_timeout must be a time (10, 10s, 500ms), not '" + std::string(value) + "'";
    }
    return "";
  }
  return "unknown server parameter '" + std::string(arg) +
         "' (weight=N, max_fails=N, fail_timeout=T, backup, down)";
}

std::string compileServerLine(const ConfNode& d, UpstreamServerSpec* s) {
  s->address = d.args[0];
  s->line = d.line;
  std::string why = checkAddress(s->address);
  for (size_t i = 1; i < d.args.size() && why.empty(); ++i) why = applyServerParam(d.args[i], s);
  if (why.empty() && s->backup && s->down) why = "a server cannot be both backup and down";
  return why;
}

std::string compileBalance(const ConfNode& d, Balance* b) {
  std::vector<std::string> args = d.args;
  if (d.name == "least_conn") args = {"least_conn"};
  if (d.name == "hash") args.insert(args.begin(), "hash");
  for (Balance k : {Balance::kRoundRobin, Balance::kLeastConn, Balance::kHash}) {
    const bool hash = k == Balance::kHash;
    if (args[0] == balanceName(k) && args.size() == (hash ? 2u : 1u) &&
        (!hash || args[1] == "$remote_addr")) {
      *b = k;
      return "";
    }
  }
  if (args[0] == "hash") return "only 'hash $remote_addr' is supported";
  return "balance must be round_robin, least_conn or hash $remote_addr";
}

std::string applyGroupDirective(const ConfNode& d, UpstreamGroupSpec* g) {
  if (d.name == "server") {
    if (g->servers.size() == kMaxGroupServers) {
      return "more than " + std::to_string(kMaxGroupServers) + " servers in one upstream";
    }
    UpstreamServerSpec s;
    std::string why = compileServerLine(d, &s);
    for (const UpstreamServerSpec& o : g->servers) {
      if (why.empty() && o.address == s.address) {
        why = "duplicate server " + s.address + " (first at line " + std::to_string(o.line) + ")";
      }
    }
    if (why.empty()) g->servers.push_back(std::move(s));
    return why;
  }
  if (d.name == "balance" || d.name == "least_conn" || d.name == "hash") {
    return compileBalance(d, &g->balance);
  }
  if (d.name == "keepalive") {
    Problem p;
    if (!parseInto(d.args[0], 0, 1'000'000, &g->keepalive, &p)) {
      return "keepalive must be a number of connections (0: none kept), not '" + d.args[0] + "'";
    }
    return "";
  }
  return "unknown directive '" + d.name + "' in an upstream block";
}

std::string compileGroup(const ConfNode& n, UpstreamGroupSpec* g) {
  g->name = n.args[0];
  g->file = n.file;
  g->line = n.line;
  if (!validBlockName(g->name)) {
    return where(n) + "upstream name '" + g->name + "' must be letters, digits, '_', '-' or '.'";
  }
  const ConfNode* balance = nullptr;
  const ConfNode* keepalive = nullptr;
  for (const ConfNode& d : n.children) {
    const bool isBalance = d.name == "balance" || d.name == "least_conn" || d.name == "hash";
    const ConfNode** first = isBalance ? &balance : d.name == "keepalive" ? &keepalive : nullptr;
    if (first != nullptr && *first != nullptr) {
      return where(d) + "duplicate '" + d.name + "' (first at line " +
             std::to_string((*first)->line) + ")";
    }
    if (first != nullptr) *first = &d;
    std::string why = applyGroupDirective(d, g);
    if (!why.empty()) return where(d) + why;
  }
  if (g->servers.empty()) return where(n) + "upstream '" + g->name + "' has no 'server'";
  bool primary = false;
  for (const UpstreamServerSpec& s : g->servers) primary = primary || !s.backup;
  if (!primary) return where(n) + "upstream '" + g->name + "' has only backup servers";
  return "";
}

const ConfNode* findAppNode(const Config& cfg, const std::string& name) {
  for (const ConfNode& n : cfg.routing) {
    if (n.name == "app" && !n.args.empty() && n.args[0] == name) return &n;
  }
  return nullptr;
}

}  // namespace

bool compileUpstreams(const Config& cfg, std::vector<UpstreamGroupSpec>* out, std::string* err) {
  out->clear();
  size_t total = 0;
  for (const ConfNode& n : cfg.routing) {
    if (n.name != "upstream") continue;
    UpstreamGroupSpec g;
    *err = compileGroup(n, &g);
    if (err->empty()) {
      if (const UpstreamGroupSpec* o = findUpstreamGroup(*out, g.name); o != nullptr) {
        *err = where(n) + "duplicate upstream '" + g.name + "' (first at line " +
               std::to_string(o->line) + ")";
      } else if (const ConfNode* app = findAppNode(cfg, g.name); app != nullptr) {
        *err = where(n) + "upstream '" + g.name + "' has the name of an app (" + app->file + ":" +
               std::to_string(app->line) + "): fastcgi_pass could not tell them apart";
      } else if ((total += g.servers.size()) > kMaxUpstreamServers) {
        *err = where(n) + "more than " + std::to_string(kMaxUpstreamServers) +
               " upstream servers in all";
      }
    }
    if (!err->empty()) return false;
    out->push_back(std::move(g));
  }
  return true;
}

const UpstreamGroupSpec* findUpstreamGroup(const std::vector<UpstreamGroupSpec>& groups,
                                           std::string_view name) {
  for (const UpstreamGroupSpec& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

const char* balanceName(Balance b) {
  switch (b) {
    case Balance::kRoundRobin:
      return "round_robin";
    case Balance::kLeastConn:
      return "least_conn";
    case Balance::kHash:
      return "hash";
  }
  return "";
}

}  // namespace hs
