#include "RouteConfig.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include "ConfValue.h"
#include "HttpLexical.h"
#include "RouteSettings.h"

namespace hs {

namespace {

std::string where(const ConfNode& n) { return n.file + ":" + std::to_string(n.line) + ": "; }

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

struct Compiler {
  const Config& cfg;
  RouteConfig* out;
  SettingsContext ctx;
  std::set<std::string> explicitDefaults;  // addresses with a default_server
};

// log_format NAME [escape=default|json|none] STRING...
std::string compileLogFormat(const ConfNode& n, RouteConfig* out) {
  size_t first = 1;
  LogEscape escape = LogEscape::kDefault;
  if (n.args[1].starts_with("escape=")) {
    const std::string_view e = std::string_view(n.args[1]).substr(7);
    if (e == "json") {
      escape = LogEscape::kJson;
    } else if (e == "none") {
      escape = LogEscape::kNone;
    } else if (e != "default") {
      return "'log_format' escape must be default, json or none, got " + quoted(e);
    }
    first = 2;
  }
  if (first >= n.args.size()) return "'log_format' needs a format string";
  std::string text;
  for (size_t i = first; i < n.args.size(); ++i) text += n.args[i];
  auto format = std::make_unique<LogFormat>();
  std::string why;
  if (!format->compile(text, escape, &why)) return "log_format " + quoted(n.args[0]) + ": " + why;
  if (!out->logFormats.emplace(n.args[0], std::move(format)).second) {
    return "duplicate log_format " + quoted(n.args[0]);
  }
  return "";
}

// Applies the setting directives among `nodes` to one level; blocks are left for the caller.
std::string applyLevel(const std::vector<ConfNode>& nodes, SettingsLevel* level, Compiler* c) {
  for (const ConfNode& n : nodes) {
    if (!isSettingDirective(n.name)) continue;
    const std::string why = applySetting(n, level, &c->ctx);
    if (!why.empty()) return where(n) + why;
  }
  return "";
}

bool isRegex(LocationMatch m) {
  return m == LocationMatch::kRegex || m == LocationMatch::kRegexNoCase;
}

// "= /x", "^~ /x", "~ re", "~* re", "/x", and the glued forms "=/x", "^~/x", "~re", "~*re".
// An invalid regex is listed in `deferred` when it is given, else returned.
std::string parseLocationHead(const ConfNode& n, Location* loc,
                              std::vector<std::string>* deferred) {
  std::string mod = n.args.size() == 2 ? n.args[0] : "";
  std::string pattern = n.args.back();
  if (n.args.size() == 1) {
    for (const char* m : {"^~", "~*", "=", "~"}) {
      if (pattern.starts_with(m)) {
        mod = m;
        pattern.erase(0, mod.size());
        break;
      }
    }
  }
  if (mod == "=") {
    loc->match = LocationMatch::kExact;
  } else if (mod == "^~") {
    loc->match = LocationMatch::kPrefixNoRegex;
  } else if (mod == "~" || mod == "~*") {
    loc->match = mod == "~" ? LocationMatch::kRegex : LocationMatch::kRegexNoCase;
    const std::string why = loc->regex.compile(pattern, mod == "~*");
    if (!why.empty() && deferred == nullptr) return "invalid regex " + quoted(pattern) + ": " + why;
    if (!why.empty())
      deferred->push_back(where(n) + "invalid regex " + quoted(pattern) + ": " + why);
  } else if (mod.empty()) {
    loc->match = LocationMatch::kPrefix;
  } else {
    return "location modifier must be =, ^~, ~ or ~*, got " + quoted(mod);
  }
  if (pattern.empty()) return "location needs a pattern";
  if (pattern.starts_with('@') && !isRegex(loc->match)) {
    return "named locations (" + pattern + ") are not supported";
  }
  loc->pattern = std::move(pattern);
  return "";
}

// nginx's nesting rules: nothing inside an exact location, and a nested prefix or exact location
// must start with its parent's pattern.
std::string checkNesting(const Location& parent, const Location& loc) {
  if (parent.match == LocationMatch::kExact) {
    return "location " + quoted(loc.pattern) + " cannot be inside the exact location " +
           quoted(parent.pattern);
  }
  if (parent.match != LocationMatch::kServer && !isRegex(loc.match) &&
      !loc.pattern.starts_with(parent.pattern)) {
    return "location " + quoted(loc.pattern) + " is outside location " + quoted(parent.pattern);
  }
  return "";
}

std::vector<std::unique_ptr<Location>>* listFor(Location* parent, LocationMatch m) {
  if (m == LocationMatch::kExact) return &parent->exact;
  return isRegex(m) ? &parent->regexes : &parent->prefixes;
}

std::string compileLocations(const std::vector<ConfNode>& nodes, Location* parent, Compiler* c);

std::string compileLocation(const ConfNode& n, Location* parent, Compiler* c) {
  auto loc = std::make_unique<Location>();
  loc->file = n.file;
  loc->line = n.line;
  std::string why = parseLocationHead(n, loc.get(), c->ctx.deferred);
  if (why.empty()) why = checkNesting(*parent, *loc);
  std::vector<std::unique_ptr<Location>>* list = listFor(parent, loc->match);
  for (const auto& other : *list) {
    if (why.empty() && other->pattern == loc->pattern &&
        isRegex(other->match) == isRegex(loc->match)) {
      why = "duplicate location " + quoted(loc->pattern);
    }
  }
  if (!why.empty()) return where(n) + why;
  loc->settings = parent->settings;
  // nginx's rewrite-phase directives are not inherited: a server's `return` answers before any
  // location is chosen, and a location's does not reach its nested locations.
  loc->settings.returnCode = 0;
  loc->settings.returnText.clear();
  loc->settings.internal = false;  // nor is `internal`
  // Nor is proxy_pass, a content handler: its URI replaces this location's own prefix.
  loc->settings.proxyPass.clear();
  const bool regex =
      loc->match == LocationMatch::kRegex || loc->match == LocationMatch::kRegexNoCase;
  SettingsLevel level{&loc->settings, regex, loc->pattern.size(), {}};
  why = applyLevel(n.children, &level, c);
  if (why.empty())
    why = checkSettings(loc->settings).empty() ? "" : where(n) + checkSettings(loc->settings);
  if (why.empty()) why = compileLocations(n.children, loc.get(), c);
  if (!why.empty()) return why;
  list->push_back(std::move(loc));
  return "";
}

std::string compileLocations(const std::vector<ConfNode>& nodes, Location* parent, Compiler* c) {
  for (const ConfNode& n : nodes) {
    if (n.name != "location") continue;
    const std::string why = compileLocation(n, parent, c);
    if (!why.empty()) return why;
  }
  // Longest first, so the first prefix that matches is the longest.
  std::stable_sort(
      parent->prefixes.begin(), parent->prefixes.end(),
      [](const auto& a, const auto& b) { return a->pattern.size() > b->pattern.size(); });
  return "";
}

struct ListenSpec {
  std::string ip;
  uint16_t port = 0;
  bool isDefault = false;
  bool proxyProtocol = false;
};

// The same address always compares equal, however it was written (::1 and 0:0::1).
std::string canonicalIp(const std::string& ip) {
  unsigned char bin[16];
  char text[INET6_ADDRSTRLEN];
  const int family = ip.find(':') == std::string::npos ? AF_INET : AF_INET6;
  if (::inet_pton(family, ip.c_str(), bin) != 1) return ip;
  return ::inet_ntop(family, bin, text, sizeof text) != nullptr ? text : ip;
}

// listen ADDRESS:PORT | PORT [default_server] [proxy_protocol]
std::string parseListen(const ConfNode& n, ListenSpec* out) {
  const std::string& a = n.args[0];
  Problem p;
  if (a.find_first_not_of("0123456789") == std::string::npos) {
    out->ip = "0.0.0.0";
    if (!parseInto(a, 1, 65535, &out->port, &p)) return "'listen' port must be from 1 to 65535";
  } else if (!parseAddress(a, &out->ip, &out->port, &p)) {
    return "'listen' expects " + p.expect + " or a port, got " + quoted(a);
  }
  out->ip = canonicalIp(out->ip);
  for (size_t i = 1; i < n.args.size(); ++i) {
    bool* flag = n.args[i] == "default_server"   ? &out->isDefault
                 : n.args[i] == "proxy_protocol" ? &out->proxyProtocol
                                                 : nullptr;
    if (flag == nullptr) {
      return "unsupported 'listen' parameter " + quoted(n.args[i]) +
             " (default_server or proxy_protocol)";
    }
    if (*flag) return "duplicate 'listen' parameter " + quoted(n.args[i]);
    *flag = true;
  }
  return "";
}

std::string addressText(const ListenAddr& la) {
  const bool v6 = la.ip.find(':') != std::string::npos;
  return (v6 ? "[" + la.ip + "]" : la.ip) + ":" + std::to_string(la.port);
}

// Adds name -> server unless the address already has it (first wins, with a warning, as nginx).
void addName(std::vector<std::pair<std::string, const Server*>>* list, const std::string& name,
             const Server* s, const ListenAddr& la, const ConfNode& n, RouteConfig* out) {
  for (const auto& [existing, owner] : *list) {
    if (existing != name) continue;
    if (owner != s) {
      out->warnings.push_back(where(n) + "conflicting server name " + quoted(name) + " on " +
                              addressText(la) + ", ignored");
    }
    return;
  }
  list->emplace_back(name, s);
}

// Exact names, leading wildcards ("*.example.test") and nginx's ".example.test" (both).
std::string addServerName(std::string name, const Server* s, ListenAddr* la, const ConfNode& n,
                          RouteConfig* out) {
  for (char& ch : name) ch = toLowerAscii(ch);
  if (name.starts_with('~')) return "regular expression server names are not supported";
  const bool star = name.starts_with("*.");
  const bool dot = name.starts_with('.');
  const std::string rest = star ? name.substr(1) : name;
  if (rest.find('*') != std::string::npos || rest == ".") {
    return "server_name " + quoted(name) + ": only a leading '*.' wildcard is supported";
  }
  if (!star) addName(&la->exactNames, dot ? rest.substr(1) : rest, s, *la, n, out);
  if (star || dot) addName(&la->wildcards, rest, s, *la, n, out);
  return "";
}

ListenAddr* findListen(RouteConfig* out, const ListenSpec& spec) {
  for (ListenAddr& la : out->listens) {
    if (la.ip == spec.ip && la.port == spec.port) return &la;
  }
  out->listens.push_back(ListenAddr{spec.ip, spec.port, false, nullptr, {}, {}, {}});
  return &out->listens.back();
}

std::string registerServer(const ConfNode& n, const Server* s, Compiler* c) {
  std::vector<ListenSpec> specs;
  for (const ConfNode& d : n.children) {
    if (d.name != "listen") continue;
    ListenSpec spec;
    const std::string why = parseListen(d, &spec);
    if (!why.empty()) return where(d) + why;
    specs.push_back(spec);
  }
  if (specs.empty()) specs.push_back({canonicalIp(c->cfg.ip), c->cfg.port, false});
  for (const ListenSpec& spec : specs) {
    ListenAddr* la = findListen(c->out, spec);
    if (spec.isDefault && c->explicitDefaults.count(addressText(*la)) != 0) {
      return where(n) + "duplicate default server for " + addressText(*la);
    }
    if (spec.isDefault) c->explicitDefaults.insert(addressText(*la));
    la->proxyProtocol = la->proxyProtocol || spec.proxyProtocol;
    if (spec.isDefault || la->defaultServer == nullptr) la->defaultServer = s;
    for (const ConfNode& d : n.children) {
      if (d.name != "server_name") continue;
      for (const std::string& name : d.args) {
        const std::string why = addServerName(name, s, la, d, c->out);
        if (!why.empty()) return where(d) + why;
      }
    }
  }
  return "";
}

// set_real_ip_from, real_ip_header and health_path in a server block: the top level's unless set
// here; the server's first set_real_ip_from replaces the inherited list.
std::string applyServerEdge(const ConfNode& n, Server* s, bool* ownList) {
  const std::string& v = n.args[0];
  if (n.name == "set_real_ip_from") {
    AccessRule r;
    std::string why;
    if (v == "all" || !AccessRules::parse(v, true, &r, &why)) {
      return "'set_real_ip_from' expects an address or ADDRESS/PREFIX, got " + quoted(v);
    }
    if (!*ownList) s->realIpFrom.clear();
    *ownList = true;
    s->realIpFrom.add(r);
  } else if (n.name == "real_ip_header") {
    if (!equalsIgnoreCase(v, "X-Forwarded-For") && !equalsIgnoreCase(v, "X-Real-IP")) {
      return "'real_ip_header' expects X-Forwarded-For or X-Real-IP, got " + quoted(v);
    }
    s->realIpHeader = v;
  } else if (n.name == "health_path") {
    if (!v.starts_with('/'))
      return "'health_path' expects a path starting with '/', got " + quoted(v);
    s->healthPath = v.substr(1);
  }
  return "";
}

std::string compileServerEdge(const ConfNode& n, Server* s, const Config& cfg) {
  s->realIpFrom = cfg.realIpFrom;
  s->realIpHeader = cfg.realIpHeader;
  s->healthPath = cfg.healthPath.empty() ? "" : cfg.healthPath.substr(1);
  bool ownList = false;
  for (const ConfNode& d : n.children) {
    const std::string why = applyServerEdge(d, s, &ownList);
    if (!why.empty()) return where(d) + why;
  }
  return "";
}

std::string compileServer(const ConfNode& n, const LocationSettings& top, Compiler* c) {
  auto s = std::make_unique<Server>();
  s->file = n.file;
  s->line = n.line;
  s->root.settings = top;
  for (const ConfNode& d : n.children) {
    if (d.name != "server_name") continue;
    for (const std::string& name : d.args) s->names.push_back(name);
  }
  SettingsLevel level{&s->root.settings, false, 0, {}};
  std::string why = applyLevel(n.children, &level, c);
  if (why.empty()) why = compileServerEdge(n, s.get(), c->cfg);
  const std::string incomplete = checkSettings(s->root.settings);
  if (why.empty() && !incomplete.empty()) why = where(n) + incomplete;
  if (why.empty()) why = compileLocations(n.children, &s->root, c);
  if (why.empty()) why = registerServer(n, s.get(), c);
  if (why.empty()) c->out->servers.push_back(std::move(s));
  return why;
}

// The id of access log `path` (each distinct file once), -1 for off.
int accessLogId(const std::string& path, RouteConfig* out) {
  if (path.empty()) return -1;
  const auto it = std::find(out->accessLogs.begin(), out->accessLogs.end(), path);
  if (it == out->accessLogs.end()) out->accessLogs.push_back(path);
  return static_cast<int>(std::find(out->accessLogs.begin(), out->accessLogs.end(), path) -
                          out->accessLogs.begin());
}

const LogFormat* customFormat(const LogFormat* f, const RouteConfig& out) {
  return f == out.logFormats.at("combined").get() ? nullptr : f;
}

// The derived fields of one level and everything nested in it: the handler kind, the root's id,
// the access log's id, the prebuilt header lines, the largest body limit.
void finishLocation(Location* loc, RouteConfig* out) {
  LocationSettings& s = loc->settings;
  s.accessLogId = accessLogId(s.accessLog, out);
  s.customLogFormat = s.accessLogId < 0 ? nullptr : customFormat(s.accessLogFormat, *out);
  if (!s.fastcgiPass.empty()) s.handler = HandlerKind::kFastCgi;
  if (!s.proxyPass.empty()) s.handler = HandlerKind::kProxy;
  if (s.returnCode != 0) s.handler = HandlerKind::kReturn;  // the rewrite phase comes first
  const auto root = std::find(out->roots.begin(), out->roots.end(), s.root);
  s.rootId = static_cast<uint32_t>(root - out->roots.begin());
  if (root == out->roots.end()) out->roots.push_back(s.root);
  s.successLines.clear();
  s.alwaysLines.clear();
  if (s.maxAge >= 0) s.successLines = "Cache-Control: max-age=" + std::to_string(s.maxAge) + "\r\n";
  for (const HeaderRule& h : s.headers) {
    const std::string line = h.name + ": " + h.value + "\r\n";
    s.successLines += line;
    if (h.always) s.alwaysLines += line;
  }
  out->maxBody = std::max(out->maxBody, s.maxBody);
  // Access rules, a gateway's REMOTE_ADDR and hash balancing, and a proxy's X-Real-IP need the
  // client's address.
  out->needsPeer =
      out->needsPeer || !s.access.empty() || !s.fastcgiPass.empty() || !s.proxyPass.empty();
  for (auto* list : {&loc->exact, &loc->prefixes, &loc->regexes}) {
    for (auto& nested : *list) finishLocation(nested.get(), out);
  }
}

bool hasGateway(const Location& loc) {
  const HandlerKind k = loc.settings.handler;
  if (k != HandlerKind::kStatic && k != HandlerKind::kReturn) return true;
  for (const auto* list : {&loc.exact, &loc.prefixes, &loc.regexes}) {
    for (const auto& nested : *list) {
      if (hasGateway(*nested)) return true;
    }
  }
  return false;
}

// In a server with a gateway location, a static level whose try_files may end in a URI or that
// has error pages may hand its request to that location: its bodies are kept (a front
// controller's POST reaches index.php).
void markBodyRedirects(Location* loc, bool gateway) {
  LocationSettings& s = loc->settings;
  const bool redirects =
      (!s.tryFiles.empty() && !s.tryFiles.back().starts_with('=')) || !s.errorPages.empty();
  s.redirectsTakeBody = gateway && s.handler == HandlerKind::kStatic && redirects;
  for (auto* list : {&loc->exact, &loc->prefixes, &loc->regexes}) {
    for (auto& nested : *list) markBodyRedirects(nested.get(), gateway);
  }
}

bool hasRegexes(const Location& loc) {
  if (!loc.regexes.empty()) return true;
  for (const auto* list : {&loc.exact, &loc.prefixes}) {
    for (const auto& nested : *list) {
      if (hasRegexes(*nested)) return true;
    }
  }
  return false;
}

void finishListens(const Config& cfg, RouteConfig* out) {
  for (ListenAddr& la : out->listens) {
    la.proxyProtocol = la.proxyProtocol || cfg.proxyProtocol;
    out->needsPeer = out->needsPeer || la.proxyProtocol;
    std::sort(la.exactNames.begin(), la.exactNames.end());
    std::stable_sort(la.wildcards.begin(), la.wildcards.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
}

// The top level: the command line's (or flat file's) defaults, then block-grammar defaults.
std::string compileTop(Compiler* c, LocationSettings* top) {
  const Config& cfg = c->cfg;
  top->root = cfg.root;
  top->autoindex = cfg.autoindex;
  top->maxAge = cfg.maxAge;
  top->errorPages = cfg.errorPages;
  top->maxBody = cfg.maxBody;
  top->accessLog = cfg.accessLog == "off" ? "" : cfg.accessLog;
  top->accessLogFormat = top->accessLog.empty() ? nullptr : c->out->logFormats["combined"].get();
  SettingsLevel level{top, false, 0, {}};
  std::string why = applyLevel(cfg.routing, &level, c);
  if (why.empty() && !checkSettings(*top).empty()) why = "top level: " + checkSettings(*top);
  return why;
}

}  // namespace

namespace {

void addAccessLogs(const std::vector<ConfNode>& nodes, std::vector<std::string>* out) {
  for (const ConfNode& n : nodes) {
    if (n.name == "access_log" && !n.args.empty() && n.args[0] != "off" &&
        std::find(out->begin(), out->end(), n.args[0]) == out->end()) {
      out->push_back(n.args[0]);
    }
    addAccessLogs(n.children, out);
  }
}

}  // namespace

std::vector<std::string> accessLogPaths(const Config& cfg) {
  std::vector<std::string> out;
  addAccessLogs(cfg.routing, &out);
  return out;
}

bool compileRoutes(const Config& cfg, RouteConfig* out, std::string* err,
                   std::vector<std::string>* all) {
  Compiler c{cfg, out, {&out->logFormats, {}, all}, {}};
  out->logFormats["combined"] = std::make_unique<LogFormat>(LogFormat::combined());
  for (const ConfNode& n : cfg.routing) {
    if (n.name != "log_format") continue;
    *err = compileLogFormat(n, out);
    if (!err->empty()) {
      *err = where(n) + *err;
      return false;
    }
  }
  LocationSettings top;
  *err = compileTop(&c, &top);
  for (const ConfNode& n : cfg.routing) {
    if (err->empty() && n.name == "server") *err = compileServer(n, top, &c);
  }
  if (err->empty() && out->servers.empty()) {
    ConfNode implicit{"server", {}, cfg.configFile, 0, true, {}};
    *err = compileServer(implicit, top, &c);
  }
  if (err->empty() && all != nullptr && !all->empty()) *err = all->front();
  if (!err->empty()) return false;
  for (const auto& [path, users] : c.ctx.htpasswds) out->htpasswdFiles.push_back(path);
  finishListens(cfg, out);
  out->defaultAccessLogId = accessLogId(top.accessLog, out);
  out->defaultLogFormat = top.accessLog.empty() ? nullptr : customFormat(top.accessLogFormat, *out);
  for (auto& server : out->servers) {
    finishLocation(&server->root, out);
    markBodyRedirects(&server->root, hasGateway(server->root));
    out->needsPeer = out->needsPeer || !server->realIpHeader.empty();
    if (hasRegexes(server->root)) server->locationMemo.enable();
  }
  for (ListenAddr& la : out->listens) {
    if (!la.exactNames.empty() || !la.wildcards.empty()) la.serverMemo.enable();
  }
  return true;
}

}  // namespace hs
