#include "LogFormat.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iterator>

#include "HttpLexical.h"

namespace hs {
namespace {

struct VarName {
  std::string_view name;
  LogVar var;
};

constexpr VarName kVars[] = {
    {"remote_addr", LogVar::kRemoteAddr},
    {"remote_user", LogVar::kRemoteUser},
    {"time_local", LogVar::kTimeLocal},
    {"time_iso8601", LogVar::kTimeIso8601},
    {"msec", LogVar::kMsec},
    {"request", LogVar::kRequest},
    {"request_method", LogVar::kRequestMethod},
    {"uri", LogVar::kUri},
    {"args", LogVar::kArgs},
    {"host", LogVar::kHost},
    {"server_name", LogVar::kServerNameVar},
    {"status", LogVar::kStatus},
    {"bytes_sent", LogVar::kBytesSent},
    {"body_bytes_sent", LogVar::kBodyBytesSent},
    {"request_time", LogVar::kRequestTime},
    {"connection", LogVar::kConnection},
    {"connection_requests", LogVar::kConnectionRequests},
    {"pid", LogVar::kPid},
    {"request_uri", LogVar::kRequestUri},
    {"document_root", LogVar::kDocumentRoot},
    {"document_uri", LogVar::kUri},
    {"query_string", LogVar::kArgs},
    {"content_type", LogVar::kContentType},
    {"content_length", LogVar::kContentLength},
    {"fastcgi_script_name", LogVar::kFastCgiScriptName},
    {"fastcgi_path_info", LogVar::kFastCgiPathInfo},
    {"server_addr", LogVar::kServerAddr},
    {"server_port", LogVar::kServerPort},
    {"remote_port", LogVar::kRemotePort},
    {"server_protocol", LogVar::kServerProtocol},
    {"scheme", LogVar::kScheme},
    {"is_args", LogVar::kIsArgs},
    {"upstream_addr", LogVar::kUpstreamAddr},
    {"upstream_status", LogVar::kUpstreamStatus},
    {"upstream_response_time", LogVar::kUpstreamResponseTime},
    {"proxy_host", LogVar::kProxyHost},
    {"proxy_add_x_forwarded_for", LogVar::kProxyAddXForwardedFor},
    {"proxy_add_forwarded", LogVar::kProxyAddForwarded},
};

bool isNameChar(char c) { return isAlnum(static_cast<unsigned char>(c)) || c == '_'; }

// Appends bytes up to a limit; what doesn't fit is dropped (and remembered), and one byte stays
// for the '\n'.
class LineWriter {
 public:
  LineWriter(char* out, size_t cap) : begin_(out), p_(out), end_(out + cap - 1) {}
  void put(char c) {
    if (p_ < end_) {
      *p_++ = c;
    } else {
      overflowed_ = true;
    }
  }
  void add(std::string_view s) {
    for (char c : s) put(c);
  }
  size_t finish() {
    *p_++ = '\n';
    return static_cast<size_t>(p_ - begin_);
  }
  size_t size() const { return static_cast<size_t>(p_ - begin_); }
  bool overflowed() const { return overflowed_; }

 private:
  char* begin_;
  char* p_;
  char* end_;
  bool overflowed_ = false;
};

void addEscaped(LineWriter& w, std::string_view s, LogEscape escape) {
  static constexpr char kLower[] = "0123456789abcdef";
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (escape == LogEscape::kNone) {
      w.put(ch);
    } else if (escape == LogEscape::kDefault) {
      if (u < 0x20 || u >= 0x7F || u == '"' || u == '\\') {
        w.add("\\x");
        w.put(kHexDigitsUpper[u >> 4]);
        w.put(kHexDigitsUpper[u & 15]);
      } else {
        w.put(ch);
      }
    } else if (u == '"' || u == '\\') {
      w.put('\\');
      w.put(ch);
    } else if (u < 0x20) {
      const char* named = std::strchr("\nn\rr\tt\bb\ff", ch);
      if (named != nullptr && ch != '\0') {
        w.put('\\');
        w.put(named[1]);
      } else {
        w.add("\\u00");
        w.put(kLower[u >> 4]);
        w.put(kLower[u & 15]);
      }
    } else {
      w.put(ch);
    }
  }
}

std::string_view formatNumber(uint64_t v, char* buf, size_t cap) {
  const int n = std::snprintf(buf, cap, "%llu", static_cast<unsigned long long>(v));
  return {buf, static_cast<size_t>(n)};
}

// "sec.mmm", as nginx prints $msec and $request_time.
std::string_view formatMillis(uint64_t sec, uint64_t ms, char* buf, size_t cap) {
  const int n = std::snprintf(buf, cap, "%llu.%03llu", static_cast<unsigned long long>(sec),
                              static_cast<unsigned long long>(ms));
  return {buf, static_cast<size_t>(n)};
}

std::string_view formatTime(const timespec& now, bool iso, char* buf, size_t cap) {
  struct tm tm;
  ::localtime_r(&now.tv_sec, &tm);
  size_t n = ::strftime(buf, cap, iso ? "%Y-%m-%dT%H:%M:%S%z" : "%d/%b/%Y:%H:%M:%S %z", &tm);
  if (iso && n >= 2 && n + 1 < cap) {  // +0100 -> +01:00
    std::memmove(buf + n - 1, buf + n - 2, 2);
    buf[n - 2] = ':';
    ++n;
  }
  return {buf, n};
}

std::string_view formatAddr(const sockaddr* peer, char* buf, size_t cap) {
  const void* a = nullptr;
  if (peer != nullptr && peer->sa_family == AF_INET) {
    a = &reinterpret_cast<const sockaddr_in*>(peer)->sin_addr;
  } else if (peer != nullptr && peer->sa_family == AF_INET6) {
    a = &reinterpret_cast<const sockaddr_in6*>(peer)->sin6_addr;
  }
  if (a == nullptr || inet_ntop(peer->sa_family, a, buf, static_cast<socklen_t>(cap)) == nullptr) {
    return "-";
  }
  return buf;
}

// The variables the gateway fills: not found when empty.
bool gatewayValue(LogVar var, const LogFields& f, std::string_view* v) {
  switch (var) {
    case LogVar::kRequestUri:
      *v = f.requestUri;
      break;
    case LogVar::kDocumentRoot:
      *v = f.documentRoot;
      break;
    case LogVar::kContentType:
      *v = f.contentType;
      break;
    case LogVar::kContentLength:
      *v = f.contentLength;
      break;
    case LogVar::kFastCgiScriptName:
      *v = f.scriptName;
      break;
    case LogVar::kFastCgiPathInfo:
      *v = f.pathInfo;
      break;
    case LogVar::kServerAddr:
      *v = f.serverAddr;
      break;
    case LogVar::kServerPort:
      *v = f.serverPort;
      break;
    case LogVar::kRemotePort:
      *v = f.remotePort;
      break;
    case LogVar::kServerProtocol:
      *v = f.protocol;
      break;
    case LogVar::kScheme:
      *v = f.scheme;
      break;
    default:
      return false;
  }
  return !v->empty();
}

// $upstream_*: one value per attempt, joined by ", " (nginx's form for a retried request).
bool upstreamValue(LogVar var, const LogFields& f, char* buf, size_t cap, std::string_view* v) {
  if (f.upstreamTries == 0) return false;
  size_t len = 0;
  for (uint32_t i = 0; i < f.upstreamTries && i < 2 && len < cap; ++i) {
    if (i > 0) len += static_cast<size_t>(std::snprintf(buf + len, cap - len, ", "));
    if (len >= cap) break;
    int n = 0;
    if (var == LogVar::kUpstreamAddr) {
      n = std::snprintf(buf + len, cap - len, "%.*s", static_cast<int>(f.upstreamAddr[i].size()),
                        f.upstreamAddr[i].data());
    } else if (var == LogVar::kUpstreamStatus) {
      n = std::snprintf(buf + len, cap - len, "%03d", f.upstreamStatus[i]);
    } else {
      const uint64_t us = f.upstreamTimeUs[i];
      n = std::snprintf(buf + len, cap - len, "%llu.%03llu",
                        static_cast<unsigned long long>(us / 1'000'000),
                        static_cast<unsigned long long>(us / 1000 % 1000));
    }
    len += static_cast<size_t>(n);
  }
  *v = {buf, std::min(len, cap - 1)};
  return true;
}

// The value of a variable, or false when nginx would call it not found.
bool valueOf(LogVar var, std::string_view headerName, const LogFields& f, char* buf, size_t cap,
             std::string_view* v) {
  switch (var) {
    case LogVar::kLiteral:
      return false;
    case LogVar::kRemoteAddr:
      *v = formatAddr(f.peer, buf, cap);
      return true;
    case LogVar::kRemoteUser:
      *v = f.remoteUser;
      return !f.remoteUser.empty();
    case LogVar::kTimeLocal:
    case LogVar::kTimeIso8601:
      *v = formatTime(f.now, var == LogVar::kTimeIso8601, buf, cap);
      return true;
    case LogVar::kMsec:
      *v = formatMillis(static_cast<uint64_t>(f.now.tv_sec),
                        static_cast<uint64_t>(f.now.tv_nsec / 1'000'000), buf, cap);
      return true;
    case LogVar::kRequestTime:
      *v = formatMillis(f.requestTimeUs / 1'000'000, f.requestTimeUs / 1000 % 1000, buf, cap);
      return true;
    case LogVar::kRequest:
      *v = f.request;
      return true;
    case LogVar::kRequestMethod:
      *v = f.method;
      return true;
    case LogVar::kUri:
      *v = f.uri;
      return true;
    case LogVar::kArgs:
      *v = f.args;
      return f.hasArgs;
    case LogVar::kHost:
      *v = f.host;
      return true;
    case LogVar::kServerNameVar:
      *v = f.serverName;
      return true;
    case LogVar::kStatus:
      *v = {buf, static_cast<size_t>(std::snprintf(buf, cap, "%03d", f.status))};
      return true;
    case LogVar::kBytesSent:
      *v = formatNumber(f.bytesSent, buf, cap);
      return true;
    case LogVar::kBodyBytesSent:
      *v = formatNumber(f.bodyBytesSent, buf, cap);
      return true;
    case LogVar::kHttp:
      return f.header != nullptr && f.header(f.headerCtx, headerName, v);
    case LogVar::kConnection:
      *v = formatNumber(f.connection, buf, cap);
      return true;
    case LogVar::kConnectionRequests:
      *v = formatNumber(f.connectionRequests, buf, cap);
      return true;
    case LogVar::kPid:
      *v = formatNumber(static_cast<uint64_t>(f.pid), buf, cap);
      return true;
    case LogVar::kProxyHost:
      *v = f.proxyHost;
      return !f.proxyHost.empty();
    case LogVar::kIsArgs:
      *v = f.hasArgs ? "?" : "";
      return true;
    case LogVar::kUpstreamAddr:
    case LogVar::kUpstreamStatus:
    case LogVar::kUpstreamResponseTime:
      return upstreamValue(var, f, buf, cap, v);
    default:
      return gatewayValue(var, f, v);
  }
}

// A Forwarded (RFC 7239) node: an IPv4 address as is, an IPv6 one quoted in brackets.
void addForwardedNode(LineWriter& w, const sockaddr* peer, char* buf, size_t cap) {
  const std::string_view addr = formatAddr(peer, buf, cap);
  const bool v6 = peer != nullptr && peer->sa_family == AF_INET6;
  if (v6) w.add("\"[");
  w.add(v6 || addr != "-" ? addr : "unknown");
  if (v6) w.add("]\"");
}

// $proxy_add_x_forwarded_for and $proxy_add_forwarded: the request's own field (if any), then
// this hop. Values come from a checked request head, so nothing needs escaping.
void addComposed(LineWriter& w, LogVar var, const LogFields& f) {
  char buf[64];
  std::string_view prior;
  const bool xff = var == LogVar::kProxyAddXForwardedFor;
  if (f.header != nullptr && f.header(f.headerCtx, xff ? "x_forwarded_for" : "forwarded", &prior) &&
      !prior.empty()) {
    w.add(prior);
    w.add(", ");
  }
  if (xff) {
    w.add(formatAddr(f.peer, buf, sizeof buf));
    return;
  }
  w.add("for=");
  addForwardedNode(w, f.peer, buf, sizeof buf);
  w.add(";proto=");
  w.add(f.scheme);
  // The Host field as received, port included (RFC 7239 5.3).
  std::string_view host = f.host;
  if (f.header != nullptr) f.header(f.headerCtx, "host", &host);
  if (host.empty()) return;
  w.add(";host=");
  const bool token = isToken(host);
  if (!token) w.put('"');
  w.add(host);
  if (!token) w.put('"');
}

}  // namespace

bool findHeaderVar(std::string_view head, std::string_view name, std::string_view* value) {
  size_t at = head.find('\n');
  while (at != std::string_view::npos && at + 1 < head.size()) {
    const size_t start = at + 1;
    at = head.find('\n', start);
    std::string_view line = head.substr(start, at == std::string_view::npos ? at : at - start);
    const size_t colon = line.find(':');
    if (colon != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < colon && same; ++i) {
      const char c = line[i] == '-' ? '_' : toLowerAscii(line[i]);
      same = c == name[i];
    }
    if (!same) continue;
    line.remove_prefix(colon + 1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    *value = line;
    return true;
  }
  return false;
}

bool LogFormat::compile(std::string_view text, LogEscape escape, std::string* err) {
  pieces_.clear();
  escape_ = escape;
  size_t i = 0;
  while (i < text.size()) {
    const size_t dollar = text.find('$', i);
    if (dollar != i) {
      pieces_.push_back({LogVar::kLiteral, std::string(text.substr(i, dollar - i))});
      if (dollar == std::string_view::npos) break;
    }
    const bool braced = dollar + 1 < text.size() && text[dollar + 1] == '{';
    size_t end = dollar + (braced ? 2 : 1);
    while (end < text.size() && isNameChar(text[end])) ++end;
    const std::string_view name =
        text.substr(dollar + (braced ? 2 : 1), end - dollar - (braced ? 2 : 1));
    if (name.empty() || (braced && (end == text.size() || text[end] != '}'))) {
      *err = "invalid variable name at '" + std::string(text.substr(dollar, 16)) + "'";
      return false;
    }
    i = end + (braced ? 1 : 0);
    if (name.starts_with("http_") && name.size() > 5) {
      std::string header(name.substr(5));
      for (char& c : header) c = toLowerAscii(c);
      pieces_.push_back({LogVar::kHttp, std::move(header)});
      continue;
    }
    const VarName* found = nullptr;
    for (const VarName& v : kVars) found = v.name == name ? &v : found;
    if (found == nullptr) {
      *err = "unknown variable '$" + std::string(name) + "'";
      return false;
    }
    pieces_.push_back({found->var, {}});
  }
  return true;
}

const LogFormat& LogFormat::combined() {
  static const LogFormat kCombined = [] {
    LogFormat f;
    std::string err;
    f.compile(
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent "
        "\"$http_referer\" \"$http_user_agent\"",
        LogEscape::kDefault, &err);
    return f;
  }();
  return kCombined;
}

size_t LogFormat::render(const LogFields& f, char* out, size_t cap) const {
  LineWriter w(out, cap);
  for (const Piece& p : pieces_) {
    if (p.var == LogVar::kLiteral) {
      w.add(p.text);
      continue;
    }
    char buf[256];  // two unix socket paths fit
    std::string_view v;
    if (p.var == LogVar::kProxyAddXForwardedFor || p.var == LogVar::kProxyAddForwarded) {
      addComposed(w, p.var, f);
    } else if (valueOf(p.var, p.text, f, buf, sizeof buf, &v)) {
      addEscaped(w, v, escape_);
    } else if (escape_ != LogEscape::kJson) {
      w.put('-');
    }
  }
  return w.finish();
}

size_t LogFormat::expand(const LogFields& f, char* out, size_t cap) const {
  if (cap == 0) return SIZE_MAX;
  LineWriter w(out, cap);  // keeps one byte free, for a '\n' never written here
  for (const Piece& p : pieces_) {
    char buf[64];
    std::string_view v;
    if (p.var == LogVar::kLiteral) {
      w.add(p.text);
    } else if (p.var == LogVar::kProxyAddXForwardedFor || p.var == LogVar::kProxyAddForwarded) {
      addComposed(w, p.var, f);
    } else if (valueOf(p.var, p.text, f, buf, sizeof buf, &v)) {
      w.add(v);
    }
  }
  return w.overflowed() ? SIZE_MAX : w.size();
}

}  // namespace hs
