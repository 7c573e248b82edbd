// log_format: a format string with nginx's variables, compiled once into literal and variable
// pieces, and rendered into a caller's buffer per request without allocating. `combined` is
// predefined and byte-identical to nginx's. The same compiled form expands fastcgi_param values
// (expand(): no escaping, no line end). Pure code (time values come in as arguments).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

enum class LogVar : uint8_t {
  kLiteral,
  kRemoteAddr,
  kRemoteUser,
  kTimeLocal,
  kTimeIso8601,
  kMsec,
  kRequest,
  kRequestMethod,
  kUri,
  kArgs,
  kHost,
  kServerNameVar,  // $server_name (named apart from HttpResponse.h's kServerName)
  kStatus,
  kBytesSent,
  kBodyBytesSent,
  kRequestTime,
  kHttp,  // $http_NAME: a request header
  kConnection,
  kConnectionRequests,
  kPid,
  // The gateway's variables (fastcgi_param); in an access log they are "-" where not known.
  kRequestUri,
  kDocumentRoot,
  kContentType,
  kContentLength,
  kFastCgiScriptName,
  kFastCgiPathInfo,
  kServerAddr,
  kServerPort,
  kRemotePort,
  kServerProtocol,
  kScheme,
  kIsArgs,
  // The FastCGI gateway's attempts (access log only).
  kUpstreamAddr,
  kUpstreamStatus,
  kUpstreamResponseTime,
  kProxyHost,              // the proxied server's host (proxy_pass)
  kProxyAddXForwardedFor,  // the request's X-Forwarded-For with the client appended
  kProxyAddForwarded,      // the request's Forwarded with this hop appended (RFC 7239)
};

enum class LogEscape : uint8_t { kDefault, kJson, kNone };

// One request's values, views into the connection's buffers. A value nginx would call "not found"
// (no user, no query, an absent header) is logged as "-" (as "" with escape=json).
struct LogFields {
  const sockaddr* peer = nullptr;  // sockaddr_in or sockaddr_in6
  std::string_view remoteUser;     // "" when no user authenticated
  std::string_view request;        // the request line as received
  std::string_view method, uri, host, serverName;
  std::string_view args;  // the query after '?'
  bool hasArgs = false;   // the target had a '?'
  int status = 0;
  uint64_t bytesSent = 0, bodyBytesSent = 0;
  timespec now{};              // when the request finished (wall clock)
  uint64_t requestTimeUs = 0;  // from its first byte to its last
  uint64_t connection = 0, connectionRequests = 0;
  long pid = 0;
  // Empty where not known ("not found"): the gateway fills them, an access log only some.
  std::string_view requestUri;  // the request-target as sent
  std::string_view documentRoot, contentType, contentLength, scriptName, pathInfo;
  std::string_view serverAddr, serverPort, remotePort, protocol, scheme;
  // The upstream attempts behind the response (a retried request has two), logged as nginx does:
  // the values of each attempt joined by ", ", or "-" when the request went to no upstream.
  uint32_t upstreamTries = 0;
  std::string_view upstreamAddr[2];  // "unix:/path", "HOST:PORT"
  int upstreamStatus[2] = {};        // the app's status, or the gateway's 502/504 for the attempt
  uint64_t upstreamTimeUs[2] = {};   // the attempt's time, logged in seconds to the millisecond
  std::string_view proxyHost;        // "" outside a proxied location
  // Looks a request header up by its lowercase name with '_' for '-' (as $http_ names it); returns
  // false when the request has none.
  bool (*header)(const void* ctx, std::string_view name, std::string_view* value) = nullptr;
  const void* headerCtx = nullptr;
};

// $http_NAME: the first header line of `head` (a request head, its request line first) whose name
// matches `name` (lowercase, '_' for '-'); its value with the surrounding whitespace trimmed.
// Returns false when there is none.
bool findHeaderVar(std::string_view head, std::string_view name, std::string_view* value);

class LogFormat {
 public:
  // Compiles `text` (nginx's log_format strings, already joined). Returns false with *err naming
  // the unknown variable or the malformed "$" for any other.
  bool compile(std::string_view text, LogEscape escape, std::string* err);

  // '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
  // "$http_referer" "$http_user_agent"'
  static const LogFormat& combined();

  // Writes one line, ending in '\n', to out[0..cap) (cap >= 1) and returns its length. Values are
  // cut short rather than the line dropped when it doesn't fit.
  size_t render(const LogFields& f, char* out, size_t cap) const;

  // Writes the value alone to out[0..cap): no escaping, no '\n', a variable that is not found
  // is empty. Returns its length (below cap), or SIZE_MAX when it does not fit.
  size_t expand(const LogFields& f, char* out, size_t cap) const;

  size_t pieces() const { return pieces_.size(); }

 private:
  struct Piece {
    LogVar var;
    std::string text;  // the literal, or the header name for kHttp
  };
  std::vector<Piece> pieces_;
  LogEscape escape_ = LogEscape::kDefault;
};

}  // namespace hs
