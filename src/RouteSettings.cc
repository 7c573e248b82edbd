#include "RouteSettings.h"

#include <climits>
#include <cstring>

#include "ConfValue.h"
#include "HttpLexical.h"
#include "ProxyTarget.h"

namespace hs {
namespace {

using Apply = std::string (*)(const ConfNode& n, SettingsLevel* lv, SettingsContext* ctx);

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string dirOf(const std::string& file) {
  const size_t slash = file.rfind('/');
  return slash == std::string::npos ? "" : file.substr(0, slash + 1);
}

// A header value may not end the header early or smuggle another one.
bool safeValue(std::string_view v) {
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7F) return false;
  }
  return true;
}

std::string onOff(const ConfNode& n, bool* out) {
  Problem p;
  return parseOnOff(n.args[0], out, &p) ? "" : quoted(n.name) + " expects on or off";
}

std::string applyRoot(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  LocationSettings& s = *lv->settings;
  std::string dir = n.args[0];
  if (dir.empty()) return quoted(n.name) + " expects a directory";
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  s.root = std::move(dir);
  s.alias = n.name == "alias";
  if (!s.alias) {
    s.aliasCut = 0;
    return "";
  }
  if (lv->regexLocation) return "'alias' is not supported in a regex location (use root)";
  s.aliasCut = lv->prefixLength;
  return "";
}

std::string applyIndex(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  for (const std::string& a : n.args) {
    if (a.empty() || a.find('/') != std::string::npos) {
      return "'index' expects file names without '/', got " + quoted(a);
    }
  }
  lv->settings->index = n.args;
  return "";
}

std::string applyTryFiles(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& last = n.args.back();
  uint64_t code = 0;
  const bool isCode = last.starts_with('=') && parseDigits(last.substr(1), &code);
  if (isCode ? code < 200 || code > 599 : !last.starts_with('/')) {
    return "'try_files' must end with a URI starting with '/' or =CODE (200..599), got " +
           quoted(last);
  }
  LocationSettings& s = *lv->settings;
  s.tryFiles = n.args;
  const size_t q = last.find('?');
  s.tryFilesHasArgs = !isCode && q != std::string::npos;
  std::string err;
  if (s.tryFilesHasArgs &&
      !s.tryFilesArgs.compile(std::string_view(last).substr(q + 1), LogEscape::kNone, &err)) {
    return "'try_files': " + err;
  }
  return "";
}

std::string applyAutoindex(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  return onOff(n, &lv->settings->autoindex);
}

std::string applyGzipStatic(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  return onOff(n, &lv->settings->gzipStatic);
}

std::string applyMaxAge(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  Problem p;
  if (parseInto(n.args[0], 0, INT_MAX, &lv->settings->maxAge, &p)) return "";
  return "'max_age' expects " + p.expect + ", got " + quoted(n.args[0]);
}

// expires off | N[s|m|h|d|w|M|y]: sent as Cache-Control: max-age.
std::string applyExpires(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  std::string_view v = n.args[0];
  if (v == "off") {
    lv->settings->maxAge = -1;
    return "";
  }
  constexpr std::string_view kUnits = "smhdwMy";
  constexpr uint64_t kSeconds[] = {1, 60, 3600, 86400, 604800, 2592000, 31536000};
  uint64_t unit = 1;
  const size_t u = v.empty() ? std::string_view::npos : kUnits.find(v.back());
  if (u != std::string_view::npos) {
    unit = kSeconds[u];
    v.remove_suffix(1);
  }
  uint64_t count = 0;
  if (!parseDigits(v, &count) || count > INT_MAX / unit) {
    return "'expires' expects off or a time such as 30d, 12h or 600 (at most 68 years), got " +
           quoted(n.args[0]);
  }
  lv->settings->maxAge = static_cast<int>(count * unit);
  return "";
}

std::string applyAddHeader(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& name = n.args[0];
  if (!isToken(name)) return "'add_header' expects a header name, got " + quoted(name);
  if (!safeValue(n.args[1])) return "'add_header' value may not contain control characters";
  if (n.args.size() == 3 && n.args[2] != "always") {
    return "'add_header' expects 'always' as its third value, got " + quoted(n.args[2]);
  }
  lv->settings->headers.push_back({name, n.args[1], n.args.size() == 3});
  return "";
}

bool isRedirect(uint64_t code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

// return CODE [TEXT|URL] | return URL (302)
std::string applyReturn(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  LocationSettings& s = *lv->settings;
  const std::string& first = n.args[0];
  uint64_t code = 0;
  if (!parseDigits(first, &code)) {
    if (n.args.size() == 1 && (first.starts_with("http://") || first.starts_with("https://"))) {
      s.returnCode = 302;
      s.returnText = first;
      return safeValue(first) ? "" : "'return' URL may not contain control characters";
    }
    return "'return' expects CODE [TEXT|URL] or an http:// or https:// URL, got " + quoted(first);
  }
  if (code < 200 || code > 599) return "'return' code must be from 200 to 599";
  const std::string text = n.args.size() == 2 ? n.args[1] : "";
  if (isRedirect(code) && (text.empty() || !safeValue(text))) {
    return "'return " + first + "' needs the URL to redirect to";
  }
  s.returnCode = static_cast<int>(code);
  s.returnText = text;
  return "";
}

// error_page CODE... [=[NEW]] URI
std::string applyErrorPage(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& uri = n.args.back();
  if (!uri.starts_with('/'))
    return "'error_page' expects a URI starting with '/', got " + quoted(uri);
  size_t codes = n.args.size() - 1;
  int answer = 0;  // no '='
  const std::string& eq = n.args[codes - 1];
  if (codes >= 2 && eq.starts_with('=')) {
    uint64_t v = 0;
    if (eq.size() > 1 && (!parseDigits(eq.substr(1), &v) || v < 200 || v > 599)) {
      return "'error_page' expects = or =CODE (200..599), got " + quoted(eq);
    }
    answer = eq.size() > 1 ? static_cast<int>(v) : -1;
    --codes;
  }
  for (size_t i = 0; i < codes; ++i) {
    uint64_t code = 0;
    if (!parseDigits(n.args[i], &code) || code < 300 || code > 599) {
      return "'error_page' expects status codes from 300 to 599, got " + quoted(n.args[i]);
    }
    lv->settings->errorPages[static_cast<int>(code)] = uri;
    if (answer != 0) {
      lv->settings->errorPageCodes[static_cast<int>(code)] = answer;
    } else {
      lv->settings->errorPageCodes.erase(static_cast<int>(code));
    }
  }
  return "";
}

std::string applyAccess(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  AccessRule r;
  std::string why;
  if (!AccessRules::parse(n.args[0], n.name == "allow", &r, &why))
    return quoted(n.name) + " " + why;
  lv->settings->access.add(r);
  return "";
}

std::string applyAuthBasic(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& realm = n.args[0];
  for (char c : realm) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return "'auth_basic' realm may not contain quotes, backslashes or control characters";
    }
  }
  lv->settings->authRealm = realm == "off" ? "" : realm;
  return "";
}

std::string applyAuthFile(const ConfNode& n, SettingsLevel* lv, SettingsContext* ctx) {
  const std::string& arg = n.args[0];
  const std::string path = arg.starts_with('/') ? arg : dirOf(n.file) + arg;
  std::shared_ptr<const Htpasswd>& users = ctx->htpasswds[path];
  if (!users) {
    auto loaded = std::make_shared<Htpasswd>();
    std::string err;
    if (!loaded->load(path, &err)) {
      if (ctx->deferred == nullptr) return "'auth_basic_user_file': " + err;
      ctx->deferred->push_back(n.file + ":" + std::to_string(n.line) +
                               ": 'auth_basic_user_file': " + err);
      loaded = std::make_shared<Htpasswd>();  // reported once; nobody can log in with it
    }
    users = std::move(loaded);
  }
  lv->settings->authUsers = users;
  return "";
}

std::string applyAccessLog(const ConfNode& n, SettingsLevel* lv, SettingsContext* ctx) {
  LocationSettings& s = *lv->settings;
  if (n.args[0] == "off") {
    if (n.args.size() > 1) return "'access_log off' takes no format";
    s.accessLog.clear();
    s.accessLogFormat = nullptr;
    return "";
  }
  const std::string name = n.args.size() > 1 ? n.args[1] : "combined";
  const auto it = ctx->logFormats->find(name);
  if (it == ctx->logFormats->end()) return "unknown log_format " + quoted(name);
  s.accessLog = n.args[0];
  s.accessLogFormat = it->second.get();
  return "";
}

std::string applyMaxBody(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  Problem p;
  uint64_t v = 0;
  if (!parseSize(n.args[0], &v, &p)) return quoted(n.name) + " expects " + p.expect;
  lv->settings->maxBody = v == 0 ? UINT64_MAX : v;  // 0: no limit, as in nginx
  return "";
}

// `group` names what a directive sets: a second directive of a group at one level is a duplicate
// unless `list` (then the first one clears what the level inherited).
struct Rule {
  std::string_view name;
  std::string_view group;
  bool list;
  Apply apply;
};

// fastcgi_pass NAME|unix:PATH|HOST:PORT: the location's requests go to that application.
std::string applyFastCgiPass(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& v = n.args[0];
  if (v.empty() || !safeValue(v))
    return quoted(n.name) + " expects an app name, unix:PATH or HOST:PORT";
  lv->settings->fastcgiPass = v;
  return "";
}

std::string applyFastCgiTimeout(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  LocationSettings& s = *lv->settings;
  int* ms = n.name == "fastcgi_connect_timeout" ? &s.fastcgiConnectTimeoutMs
            : n.name == "fastcgi_send_timeout"  ? &s.fastcgiSendTimeoutMs
                                                : &s.fastcgiReadTimeoutMs;
  Problem p;
  return parseTimeout(n.args[0], ms, &p) ? ""
                                         : quoted(n.name) + " expects a time such as 60s or 500ms";
}

std::string applyInternal(const ConfNode&, SettingsLevel* lv, SettingsContext*) {
  lv->settings->internal = true;
  return "";
}

// fastcgi_param NAME VALUE [if_not_empty]: VALUE may hold variables, compiled here.
std::string applyFastCgiParam(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& name = n.args[0];
  if (name.empty() || !safeValue(name) || name.find_first_of(" \t") != std::string::npos) {
    return "'fastcgi_param' expects a parameter name, got " + quoted(name);
  }
  if (!safeValue(n.args[1])) return "'fastcgi_param' value may not contain control characters";
  if (n.args.size() == 3 && n.args[2] != "if_not_empty") {
    return "'fastcgi_param' expects 'if_not_empty' as its third value, got " + quoted(n.args[2]);
  }
  FastCgiParam p;
  p.name = name;
  p.ifNotEmpty = n.args.size() == 3;
  std::string err;
  if (!p.value.compile(n.args[1], LogEscape::kNone, &err)) return "'fastcgi_param': " + err;
  lv->settings->fastcgiParams.push_back(std::move(p));
  return "";
}

// proxy_pass http://HOST[:PORT][URI] | http://unix:/PATH:[URI]
std::string applyProxyPass(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  ProxyPass pass;
  const std::string why = parseProxyPass(n.args[0], &pass);
  if (!why.empty()) return "'proxy_pass' " + why + ", got " + quoted(n.args[0]);
  if (pass.hasUri && lv->regexLocation) {
    return "'proxy_pass' cannot have a URI part in a regex location";
  }
  lv->settings->proxyPass = n.args[0];
  lv->settings->proxyCut = lv->prefixLength;
  return "";
}

std::string applyProxySetHeader(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  const std::string& name = n.args[0];
  if (!isToken(name)) return "'proxy_set_header' expects a header name, got " + quoted(name);
  if (!safeValue(n.args[1])) return "'proxy_set_header' value may not contain control characters";
  LogFormat check;
  std::string err;
  if (!check.compile(n.args[1], LogEscape::kNone, &err)) return "'proxy_set_header' " + err;
  lv->settings->proxySetHeaders.push_back({name, n.args[1], false});
  return "";
}

std::string applyProxyTimeout(const ConfNode& n, SettingsLevel* lv, SettingsContext*) {
  LocationSettings& s = *lv->settings;
  int* ms = n.name == "proxy_connect_timeout" ? &s.proxyConnectTimeoutMs
            : n.name == "proxy_send_timeout"  ? &s.proxySendTimeoutMs
                                              : &s.proxyReadTimeoutMs;
  Problem p;
  return parseTimeout(n.args[0], ms, &p) ? ""
                                         : quoted(n.name) + " expects a time such as 60s or 500ms";
}

constexpr Rule kRules[] = {
    {"root", "root", false, applyRoot},
    {"alias", "root", false, applyRoot},
    {"index", "index", true, applyIndex},
    {"try_files", "try_files", false, applyTryFiles},
    {"autoindex", "autoindex", false, applyAutoindex},
    {"max_age", "max_age", false, applyMaxAge},
    {"expires", "max_age", false, applyExpires},
    {"add_header", "add_header", true, applyAddHeader},
    {"return", "return", false, applyReturn},
    {"error_page", "error_page", true, applyErrorPage},
    {"allow", "access", true, applyAccess},
    {"deny", "access", true, applyAccess},
    {"auth_basic", "auth_basic", false, applyAuthBasic},
    {"auth_basic_user_file", "auth_basic_user_file", false, applyAuthFile},
    {"gzip_static", "gzip_static", false, applyGzipStatic},
    {"access_log", "access_log", false, applyAccessLog},
    {"client_max_body_size", "client_max_body_size", false, applyMaxBody},
    {"fastcgi_pass", "fastcgi_pass", false, applyFastCgiPass},
    {"fastcgi_connect_timeout", "fastcgi_connect_timeout", false, applyFastCgiTimeout},
    {"fastcgi_send_timeout", "fastcgi_send_timeout", false, applyFastCgiTimeout},
    {"fastcgi_read_timeout", "fastcgi_read_timeout", false, applyFastCgiTimeout},
    {"fastcgi_param", "fastcgi_param", true, applyFastCgiParam},
    {"internal", "internal", false, applyInternal},
    {"proxy_pass", "proxy_pass", false, applyProxyPass},
    {"proxy_set_header", "proxy_set_header", true, applyProxySetHeader},
    {"proxy_connect_timeout", "proxy_connect_timeout", false, applyProxyTimeout},
    {"proxy_send_timeout", "proxy_send_timeout", false, applyProxyTimeout},
    {"proxy_read_timeout", "proxy_read_timeout", false, applyProxyTimeout},
};

const Rule* findRule(std::string_view name) {
  for (const Rule& r : kRules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void clearGroup(std::string_view group, LocationSettings* s) {
  if (group == "index") s->index.clear();
  if (group == "add_header") s->headers.clear();
  if (group == "error_page") {
    s->errorPages.clear();
    s->errorPageCodes.clear();
  }
  if (group == "access") s->access.clear();
  if (group == "fastcgi_param") s->fastcgiParams.clear();
  if (group == "proxy_set_header") s->proxySetHeaders.clear();
}

}  // namespace

bool isSettingDirective(std::string_view name) { return findRule(name) != nullptr; }

std::string applySetting(const ConfNode& n, SettingsLevel* level, SettingsContext* ctx) {
  const Rule* r = findRule(n.name);
  if (r == nullptr) return "unknown directive " + quoted(n.name);
  const std::string here = n.file + ":" + std::to_string(n.line);
  const auto [it, first] = level->seen.emplace(std::string(r->group), here);
  if (!first && !r->list) return "duplicate " + quoted(n.name) + " (first at " + it->second + ")";
  if (first && r->list) clearGroup(r->group, level->settings);
  return r->apply(n, level, ctx);
}

std::string checkSettings(const LocationSettings& s) {
  if (!s.authRealm.empty() && !s.authUsers) return "'auth_basic' needs 'auth_basic_user_file'";
  return "";
}

}  // namespace hs
