// The settings one server or location level serves its requests with (root, index, try_files,
// headers, access rules, the handler, ...), as RouteSettings fills them in and the handlers read
// them. Plain data: RouteConfig nests them in its servers and locations.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "AccessRules.h"
#include "Htpasswd.h"
#include "LogFormat.h"

namespace hs {

// Which handler answers a location's requests (HandlerTable maps each kind to its handler). A
// gateway directive (fastcgi_pass, proxy_pass) sets its own kind; `return` makes kReturn.
enum class HandlerKind : uint8_t {
  kStatic,   // files under root or alias (index, try_files, autoindex, gzip_static)
  kReturn,   // return CODE [URL|TEXT]
  kFastCgi,  // fastcgi_pass
  kProxy,    // proxy_pass
  kCount
};

// fastcgi_param NAME VALUE [if_not_empty]: VALUE compiled once (LogFormat's variables).
struct FastCgiParam {
  std::string name;
  LogFormat value;
  bool ifNotEmpty = false;  // not passed when VALUE comes out empty
};

struct HeaderRule {
  std::string name, value;
  bool always = false;  // also on error responses and `return`
};

// Everything a request is served with. Each level starts from a copy of its parent's settings and
// overrides what it sets; list directives (index, try_files, add_header, error_page, allow/deny)
// (and fastcgi_param) set at a level replace the parent's list wholesale, as in nginx.
struct LocationSettings {
  std::string root = "/var/www";  // files come from here (the alias directory when alias)
  bool alias = false;
  size_t aliasCut = 0;  // alias: this many leading URI bytes are replaced by the directory
  std::vector<std::string> index = {"index.html"};
  std::vector<std::string> tryFiles;  // last one: a URI or "=CODE"
  LogFormat tryFilesArgs;             // the last URI's part after '?' ("$args"), compiled
  bool tryFilesHasArgs = false;       // the last URI has a '?'
  bool autoindex = false;
  int maxAge = -1;  // Cache-Control: max-age (-1: none)
  std::vector<HeaderRule> headers;
  // `return` (0: none) is not inherited, as in nginx: a server's answers before any location is
  // chosen, and a location's does not reach its nested locations.
  int returnCode = 0;
  std::string returnText;  // URL for 301/302/303/307/308, else the body
  std::map<int, std::string> errorPages;
  // error_page CODE... =[NEW] URI: the answer's status is NEW, or with '=' alone (-1) the status
  // of what answers the URI; without '=' the page keeps the error's status.
  std::map<int, int> errorPageCodes;
  AccessRules access;
  std::string authRealm;  // "" : no auth_basic
  std::shared_ptr<const Htpasswd> authUsers;
  bool gzipStatic = true;  // .br/.gz siblings: on by default, as the flat format always served them
  std::string accessLog;   // "" : off
  const LogFormat* accessLogFormat = nullptr;
  uint64_t maxBody = 1 << 20;
  HandlerKind handler = HandlerKind::kStatic;
  bool internal =
      false;  // `internal`: clients get 404, internal redirects may enter (not inherited)
  // Derived once the configuration is compiled (finishRoutes), for the hot path:
  uint32_t rootId = 0;       // index of `root` in RouteConfig::roots (its open fd and file cache)
  std::string successLines;  // "Cache-Control: max-age=N\r\n" and every add_header line
  int accessLogId = -1;      // accessLog's index in RouteConfig::accessLogs; -1: off
  // accessLogFormat unless it is the predefined combined, which AccessLog writes itself.
  const LogFormat* customLogFormat = nullptr;
  std::string alwaysLines;  // the add_header ... always lines (errors and `return` get these)
  // A static level whose try_files or error_page may redirect into a gateway location of its
  // server: its requests' bodies are kept for that location.
  bool redirectsTakeBody = false;
  std::string fastcgiPass;  // "" : not a gateway; an app name, unix:PATH or HOST:PORT
  int fastcgiConnectTimeoutMs = 60'000;
  int fastcgiSendTimeoutMs = 60'000;
  int fastcgiReadTimeoutMs = 60'000;
  // Added to (or replacing) the standard parameters; a level with any replaces the inherited list.
  std::vector<FastCgiParam> fastcgiParams;
  std::string proxyPass;  // "" : not proxied; else proxy_pass's URL (not inherited)
  size_t proxyCut = 0;    // the location's prefix length: what proxy_pass's URI replaces
  std::vector<HeaderRule> proxySetHeaders;  // proxy_set_header NAME VALUE, in order
  int proxyConnectTimeoutMs = 60'000;
  int proxySendTimeoutMs = 60'000;
  int proxyReadTimeoutMs = 60'000;
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

}  // namespace hs
