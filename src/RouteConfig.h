// The routing configuration compiled from Config: listen addresses, the servers on each, each
// server's locations with fully resolved settings, log formats and htpasswd files loaded, regexes
// compiled once. Built at start-up and on reload; read-only afterwards. Router selects from it.
//
// A config without server blocks is one implicit server on the top-level listen address, holding
// the top-level settings, so the flat format and the command line route the same way.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "Config.h"
#include "LocationSettings.h"
#include "LogFormat.h"
#include "Regex.h"
#include "RouteMemo.h"

namespace hs {

enum class LocationMatch : uint8_t {
  kServer,
  kExact,
  kPrefix,
  kPrefixNoRegex,
  kRegex,
  kRegexNoCase
};

struct Location {
  LocationMatch match = LocationMatch::kServer;
  std::string pattern;  // the prefix or URI; the regex's source text
  Regex regex;
  LocationSettings settings;
  // Nested locations by kind: exact and prefix ones searched by string, regexes in file order.
  std::vector<std::unique_ptr<Location>> exact, prefixes, regexes;
  std::string file;
  int line = 0;
};

struct Server {
  std::vector<std::string> names;  // lowercase, as configured ("*.example.test" kept as written)
  Location root;                   // the server level: its settings and its locations
  RouteMemo<const Location*> locationMemo;  // recent URIs' locations; enabled when root has regexes
  // Behind a load balancer: the top level's set_real_ip_from list, real_ip_header and health_path
  // unless the server sets its own (a server's set_real_ip_from lines replace the whole list).
  // The PROXY protocol header, read before any Host is known, is trusted by the list of its
  // address's default server.
  AccessRules realIpFrom;
  std::string realIpHeader;  // "" : off
  std::string healthPath;    // without its leading '/', as RequestContext::path; "" : none
  std::string file;
  int line = 0;
};

struct ListenAddr {
  std::string ip;  // without brackets
  uint16_t port = 0;
  bool proxyProtocol = false;  // `listen ... proxy_protocol` (or the top-level proxy_protocol on)
  const Server* defaultServer = nullptr;  // explicit default_server, else the first in file order
  std::vector<std::pair<std::string, const Server*>> exactNames;  // sorted by name
  std::vector<std::pair<std::string, const Server*>> wildcards;   // ".suffix", longest first
  RouteMemo<const Server*>
      serverMemo;  // recent hosts' servers; enabled when there are names to search
};

struct RouteConfig {
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<ListenAddr> listens;
  std::map<std::string, std::unique_ptr<LogFormat>, std::less<>> logFormats;
  std::vector<std::string> warnings;  // "FILE:LINE: conflicting server name ..." (first one wins)
  std::vector<std::string> roots;     // every distinct root or alias directory, by rootId
  uint64_t maxBody = 0;               // the largest client_max_body_size of any level
  // Some level has allow/deny, a real_ip_header or a PROXY protocol address: look up every
  // client's address.
  bool needsPeer = false;
  std::vector<std::string> htpasswdFiles;  // every auth_basic_user_file, as read
  std::vector<std::string> accessLogs;     // every distinct access_log file, by accessLogId
  // The top level's access log: requests answered before a server is chosen (a head that does not
  // parse, the status and metrics pages).
  int defaultAccessLogId = -1;
  const LogFormat* defaultLogFormat = nullptr;  // as customLogFormat
};

// Every file an access_log directive of cfg's block configuration names, without compiling it
// (the master creates them for the workers' user).
std::vector<std::string> accessLogPaths(const Config& cfg);

// Compiles cfg (its command-line-settable defaults and its block directives) into *out. Returns
// false with *err = "FILE:LINE: reason" at the first error. Reads htpasswd files; nothing else.
// With `all` (-t), every invalid regex and every htpasswd file that cannot be read is listed there
// and compiling goes on past them; *err is then the first problem of all.
bool compileRoutes(const Config& cfg, RouteConfig* out, std::string* err,
                   std::vector<std::string>* all = nullptr);

// Calls f on every location of every server, nested ones included; stops at the first non-empty
// answer and returns it (the gateways' targets are built this way).
template <typename F>
std::string forEachLocation(const RouteConfig& routes, F f) {
  std::vector<const Location*> todo;
  for (const std::unique_ptr<Server>& s : routes.servers) todo.push_back(&s->root);
  while (!todo.empty()) {
    const Location* loc = todo.back();
    todo.pop_back();
    std::string why = f(*loc);
    if (!why.empty()) return why;
    for (const auto* list : {&loc->exact, &loc->prefixes, &loc->regexes}) {
      for (const std::unique_ptr<Location>& child : *list) todo.push_back(child.get());
    }
  }
  return "";
}

}  // namespace hs
