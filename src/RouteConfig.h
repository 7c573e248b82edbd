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

#include "AccessRules.h"
#include "Config.h"
#include "Htpasswd.h"
#include "LogFormat.h"
#include "Regex.h"

namespace hs {

// Which handler answers a location's requests (HandlerTable maps each kind to its handler). A
// gateway directive (fastcgi_pass, proxy_pass) sets its own kind; `return` makes kReturn.
enum class HandlerKind : uint8_t {
  kStatic,   // files under root or alias (index, try_files, autoindex, gzip_static)
  kReturn,   // return CODE [URL|TEXT]
  kFastCgi,  // fastcgi_pass
  kCount
};

struct HeaderRule {
  std::string name, value;
  bool always = false;  // also on error responses and `return`
};

// Everything a request is served with. Each level starts from a copy of its parent's settings and
// overrides what it sets; list directives (index, try_files, add_header, error_page, allow/deny)
// set at a level replace the parent's list wholesale, as in nginx.
struct LocationSettings {
  std::string root = "/var/www";  // files come from here (the alias directory when alias)
  bool alias = false;
  size_t aliasCut = 0;  // alias: this many leading URI bytes are replaced by the directory
  std::vector<std::string> index = {"index.html"};
  std::vector<std::string> tryFiles;  // last one: a URI or "=CODE"
  bool autoindex = false;
  int maxAge = -1;  // Cache-Control: max-age (-1: none)
  std::vector<HeaderRule> headers;
  // `return` (0: none) is not inherited, as in nginx: a server's answers before any location is
  // chosen, and a location's does not reach its nested locations.
  int returnCode = 0;
  std::string returnText;  // URL for 301/302/303/307/308, else the body
  std::map<int, std::string> errorPages;
  AccessRules access;
  std::string authRealm;  // "" : no auth_basic
  std::shared_ptr<const Htpasswd> authUsers;
  bool gzipStatic = true;  // .br/.gz siblings: on by default, as the flat format always served them
  std::string accessLog;   // "" : off
  const LogFormat* accessLogFormat = nullptr;
  uint64_t maxBody = 1 << 20;
  HandlerKind handler = HandlerKind::kStatic;
  // Derived once the configuration is compiled (finishRoutes), for the hot path:
  uint32_t rootId = 0;       // index of `root` in RouteConfig::roots (its open fd and file cache)
  std::string successLines;  // "Cache-Control: max-age=N\r\n" and every add_header line
  int accessLogId = -1;      // accessLog's index in RouteConfig::accessLogs; -1: off
  // accessLogFormat unless it is the predefined combined, which AccessLog writes itself.
  const LogFormat* customLogFormat = nullptr;
  std::string alwaysLines;  // the add_header ... always lines (errors and `return` get these)
  std::string fastcgiPass;  // "" : not a gateway; an app name, unix:PATH or HOST:PORT
  int fastcgiConnectTimeoutMs = 60'000;
  int fastcgiSendTimeoutMs = 60'000;
  int fastcgiReadTimeoutMs = 60'000;
};

// The extra header lines a response with `status` carries: add_header's (and max_age's) on the
// statuses nginx adds them to, only the `always` ones on the others.
inline std::string_view headerLinesFor(const LocationSettings& s, int status) {
  switch (status) {
    case 200:
    case 201:
    case 204:
    case 206:
    case 301:
    case 302:
    case 303:
    case 304:
    case 307:
    case 308:
      return s.successLines;
    default:
      return s.alwaysLines;
  }
}

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
  std::string file;
  int line = 0;
};

struct ListenAddr {
  std::string ip;  // without brackets
  uint16_t port = 0;
  const Server* defaultServer = nullptr;  // explicit default_server, else the first in file order
  std::vector<std::pair<std::string, const Server*>> exactNames;  // sorted by name
  std::vector<std::pair<std::string, const Server*>> wildcards;   // ".suffix", longest first
};

struct RouteConfig {
  std::vector<std::unique_ptr<Server>> servers;
  std::vector<ListenAddr> listens;
  std::map<std::string, std::unique_ptr<LogFormat>, std::less<>> logFormats;
  std::vector<std::string> warnings;  // "FILE:LINE: conflicting server name ..." (first one wins)
  std::vector<std::string> roots;     // every distinct root or alias directory, by rootId
  uint64_t maxBody = 0;               // the largest client_max_body_size of any level
  bool needsPeer = false;             // some level has allow/deny: look up every client's address
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

}  // namespace hs
