#include "FastCgiParams.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdio>
#include <cstring>

#include "HttpLexical.h"

namespace hs {
namespace {

constexpr size_t kMaxName = 256;  // "HTTP_" + a header name; longer names are not passed

// The peer's address and port as text.
void peerText(const sockaddr_in6* peer, char* addr, size_t addrSize, char* port, size_t portSize) {
  addr[0] = port[0] = '\0';
  if (peer == nullptr) return;
  unsigned p = 0;
  if (peer->sin6_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(peer);
    ::inet_ntop(AF_INET, &v4->sin_addr, addr, static_cast<socklen_t>(addrSize));
    p = ntohs(v4->sin_port);
  } else if (peer->sin6_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &peer->sin6_addr, addr, static_cast<socklen_t>(addrSize));
    p = ntohs(peer->sin6_port);
  } else {
    return;
  }
  std::snprintf(port, portSize, "%u", p);
}

// The head of the request: from its first byte through the last header line's CRLF. The parser
// accepted it, so its blank line is there: the scan stops there and never passes the buffer.
std::string_view requestHead(const RequestContext& ctx) {
  const char* p = ctx.base;
  while (!(p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n')) ++p;
  return {ctx.base, static_cast<size_t>(p - ctx.base) + 2};
}

std::string_view contentType(std::string_view head) {
  std::string_view type;
  forEachHeaderLine(head, [&](std::string_view n, std::string_view v) {
    if (type.empty() && equalsIgnoreCase(n, "Content-Type")) type = v;
  });
  return type;
}

// A fastcgi_param line names `name`: the standard parameter or header of that name is not sent.
bool configured(const std::vector<FastCgiParam>* params, std::string_view name) {
  if (params == nullptr) return false;
  for (const FastCgiParam& p : *params) {
    if (p.name == name) return true;
  }
  return false;
}

bool passed(std::string_view name) {
  if (name.size() + 5 > kMaxName || name.find('_') != std::string_view::npos) return false;
  return !equalsIgnoreCase(name, "Proxy") && !equalsIgnoreCase(name, "Content-Type") &&
         !equalsIgnoreCase(name, "Content-Length");
}

// HTTP_* for each header name once, repeated values joined, unless a fastcgi_param names it.
bool writeHeaders(std::string_view head, const std::vector<FastCgiParam>* params,
                  FastCgiEncoder* enc, char* scratch, size_t scratchSize) {
  bool ok = true;
  forEachHeaderLine(head, [&](std::string_view name, std::string_view value) {
    if (!ok || !passed(name)) return;
    bool seenBefore = false, repeated = false;
    forEachHeaderLine(head, [&](std::string_view n, std::string_view) {
      if (n.data() < name.data() && equalsIgnoreCase(n, name)) seenBefore = true;
      if (n.data() > name.data() && equalsIgnoreCase(n, name)) repeated = true;
    });
    if (seenBefore) return;
    char* key = scratch;
    std::memcpy(key, "HTTP_", 5);
    for (size_t i = 0; i < name.size(); ++i) {
      char ch = name[i];
      key[5 + i] = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z' ? static_cast<char>(ch - 32) : ch);
    }
    std::string_view keyView(key, 5 + name.size());
    if (configured(params, keyView)) return;
    if (!repeated) {
      ok = enc->param(keyView, value);
      return;
    }
    const std::string_view sep = equalsIgnoreCase(name, "Cookie") ? "; " : ", ";
    char* joined = scratch + kMaxName;
    size_t len = 0, room = scratchSize - kMaxName;
    forEachHeaderLine(head, [&](std::string_view n, std::string_view v) {
      if (!equalsIgnoreCase(n, name)) return;
      size_t need = (len == 0 ? 0 : sep.size()) + v.size();
      if (len + need > room) {
        ok = false;
        return;
      }
      if (len != 0) {
        std::memcpy(joined + len, sep.data(), sep.size());
        len += sep.size();
      }
      std::memcpy(joined + len, v.data(), v.size());
      len += v.size();
    });
    ok = ok && enc->param(keyView, {joined, len});
  });
  return ok;
}

std::string_view methodName(const RequestContext& ctx) { return ctx.req->methodText.in(ctx.base); }

bool headerOf(const void* head, std::string_view name, std::string_view* value) {
  return findHeaderVar(*static_cast<const std::string_view*>(head), name, value);
}

// What writeFastCgiParams has already put in text.
struct Texts {
  std::string_view head, remotePort, serverPort, length, protocol;
};

// The fastcgi_param lines, each value expanded (with nginx's variables) into scratch until enc has
// copied it.
bool writeConfigured(const RequestContext& ctx, const FastCgiParamsInput& in, const Texts& t,
                     FastCgiEncoder* enc, char* scratch, size_t scratchSize) {
  LogFields v;
  v.peer = reinterpret_cast<const sockaddr*>(ctx.peer);
  v.method = methodName(ctx);
  v.uri = in.scriptName;
  v.host = ctx.host;
  v.serverName = in.serverName;
  v.args = ctx.query;
  v.hasArgs = !ctx.query.empty();  // after an internal redirect: its arguments
  v.header = &headerOf;
  v.headerCtx = &t.head;
  v.requestUri = ctx.target;
  v.documentRoot = in.documentRoot;
  v.contentType = contentType(t.head);
  v.contentLength = t.length;
  v.scriptName = in.scriptName;
  v.pathInfo = in.pathInfo;
  v.serverAddr = in.serverAddr;
  v.serverPort = t.serverPort;
  v.remotePort = t.remotePort;
  v.protocol = t.protocol;
  v.scheme = "http";
  for (const FastCgiParam& p : *in.params) {
    if (p.name == "HTTP_PROXY") continue;  // httpoxy: never passed, whatever the configuration says
    const size_t n = p.value.expand(v, scratch, scratchSize);
    if (n == SIZE_MAX) return false;
    if (n == 0 && p.ifNotEmpty) continue;
    if (!enc->param(p.name, {scratch, n})) return false;
  }
  return true;
}

}  // namespace

ParamsStatus writeFastCgiParams(const RequestContext& ctx, const FastCgiParamsInput& in,
                                FastCgiEncoder* enc, char* scratch, size_t scratchSize) {
  char remoteAddr[INET6_ADDRSTRLEN], remotePort[8], serverPort[8], length[24];
  peerText(ctx.peer, remoteAddr, sizeof remoteAddr, remotePort, sizeof remotePort);
  std::snprintf(serverPort, sizeof serverPort, "%u", static_cast<unsigned>(in.serverPort));
  length[0] = '\0';
  if (in.contentLength >= 0) {
    std::snprintf(length, sizeof length, "%lld", static_cast<long long>(in.contentLength));
  }
  const std::string_view head = requestHead(ctx);
  const std::string_view protocol = ctx.req->versionMinor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  // SCRIPT_FILENAME is the root and the script's path joined.
  const size_t fileLen = in.documentRoot.size() + in.scriptName.size();
  if (fileLen > scratchSize) return ParamsStatus::kNoRoom;
  // An empty view may have a null data(): memcpy must not see it, even for zero bytes.
  if (!in.documentRoot.empty())
    std::memcpy(scratch, in.documentRoot.data(), in.documentRoot.size());
  if (!in.scriptName.empty()) {
    std::memcpy(scratch + in.documentRoot.size(), in.scriptName.data(), in.scriptName.size());
  }
  const std::string_view pairs[][2] = {
      {"SCRIPT_FILENAME", {scratch, fileLen}},
      {"QUERY_STRING", ctx.query},
      {"REQUEST_METHOD", methodName(ctx)},
      {"CONTENT_TYPE", contentType(head)},
      {"CONTENT_LENGTH", length},
      {"SCRIPT_NAME", in.scriptName},
      {"PATH_INFO", in.pathInfo},
      {"REQUEST_URI", ctx.target},
      {"DOCUMENT_URI", in.scriptName},
      {"DOCUMENT_ROOT", in.documentRoot},
      {"SERVER_PROTOCOL", protocol},
      {"REQUEST_SCHEME", "http"},
      {"GATEWAY_INTERFACE", "CGI/1.1"},
      {"SERVER_SOFTWARE", in.serverSoftware},
      {"REMOTE_ADDR", remoteAddr},
      {"REMOTE_PORT", remotePort},
      {"SERVER_ADDR", in.serverAddr},
      {"SERVER_PORT", serverPort},
      {"SERVER_NAME", in.serverName},
      {"REDIRECT_STATUS", "200"},  // php-cgi refuses to run without it (cgi.force_redirect)
  };
  for (const auto& p : pairs) {
    if (configured(in.params, p[0])) continue;
    if (!enc->param(p[0], p[1])) return ParamsStatus::kNoRoom;
  }
  if (in.params != nullptr && !in.params->empty()) {
    const Texts t{head, remotePort, serverPort, length, protocol};
    if (!writeConfigured(ctx, in, t, enc, scratch, scratchSize)) return ParamsStatus::kNoRoom;
  }
  return writeHeaders(head, in.params, enc, scratch, scratchSize) ? ParamsStatus::kOk
                                                                  : ParamsStatus::kNoRoom;
}

}  // namespace hs
