#include "ProxyRequest.h"

#include "FastCgiParams.h"
#include "FixedWriter.h"
#include "HttpLexical.h"
#include "LogFormat.h"

namespace hs {

namespace {

// The bytes of a decoded URI path that must be escaped again in a request-target (nginx's
// NGX_ESCAPE_URI set, roughly): controls, space, '"', '#', '%', '?', and non-ASCII.
bool needsEscape(unsigned char c) {
  return c <= 0x20 || c >= 0x7F || c == '"' || c == '#' || c == '%' || c == '?';
}

void addEscapedPath(FixedWriter& w, std::string_view path) {
  size_t start = 0;
  for (size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (!needsEscape(c)) continue;
    w.add(path.substr(start, i - start));
    const char esc[3] = {'%', kHexDigitsUpper[c >> 4], kHexDigitsUpper[c & 15]};
    w.add({esc, 3});
    start = i + 1;
  }
  w.add(path.substr(start));
}

bool hasArgs(const RequestContext& ctx) { return ctx.target.find('?') != std::string_view::npos; }

void addTarget(FixedWriter& w, const RequestContext& ctx, const ProxyTarget& t) {
  if (!t.hasUri) {
    w.add(ctx.rawPath);  // the client's URI as sent (nginx passes it unchanged)
  } else {
    const size_t cut = ctx.uri.size() < t.cut ? ctx.uri.size() : t.cut;
    w.add(t.uri);
    addEscapedPath(w, ctx.uri.substr(cut));
  }
  if (hasArgs(ctx)) w.add("?").add(ctx.query);
}

bool findHeader(const void* head, std::string_view name, std::string_view* value) {
  return findHeaderVar(*static_cast<const std::string_view*>(head), name, value);
}

LogFields fieldsOf(const RequestContext& ctx, const ProxyTarget& t) {
  LogFields f;
  f.peer = reinterpret_cast<const sockaddr*>(ctx.peer);
  f.method = ctx.req->methodText.in(ctx.base);
  f.uri = ctx.uri;
  f.args = ctx.query;
  f.hasArgs = hasArgs(ctx);
  f.host = ctx.host;
  f.requestUri = ctx.target;
  f.scheme = "http";
  f.proxyHost = t.proxyHost;
  f.now.tv_sec = ctx.nowSec;
  f.header = findHeader;
  f.headerCtx = &ctx.head;
  return f;
}

bool ruleNames(const ProxyTarget& t, std::string_view name) {
  for (const UpstreamField& h : t.headers) {
    if (equalsIgnoreCase(h.name, name)) return true;
  }
  return false;
}

}  // namespace

bool dropRequestField(std::string_view name, std::string_view connection) {
  for (std::string_view h : {"connection", "keep-alive", "te", "trailer", "transfer-encoding",
                             "upgrade", "proxy-connection", "content-length", "expect"}) {
    if (equalsLowerCase(name, h)) return true;
  }
  return !forEachListElement(connection,
                             [&](std::string_view tok) { return !equalsIgnoreCase(tok, name); });
}

size_t writeProxyRequest(const RequestContext& ctx, const ProxyTarget& t, int64_t bodyLength,
                         char* out, size_t cap, char* scratch, size_t scratchCap) {
  FixedWriter w(out, cap);
  w.add(ctx.req->methodText.in(ctx.base)).add(" ");
  addTarget(w, ctx, t);
  w.add(" HTTP/1.1\r\n");
  const std::string_view connection = ctx.header(KnownHeader::kConnection);
  forEachHeaderLine(ctx.head, [&](std::string_view name, std::string_view value) {
    if (!dropRequestField(name, connection) && !ruleNames(t, name)) w.header(name, value);
  });
  const LogFields f = fieldsOf(ctx, t);
  for (const UpstreamField& h : t.headers) {
    if (h.remove) continue;
    const size_t n = h.value.expand(f, scratch, scratchCap);
    if (n == SIZE_MAX) return 0;  // cut short: refuse rather than send a truncated value
    if (n > 0) w.header(h.name, {scratch, n});  // an empty value is not sent
  }
  if (bodyLength >= 0) w.header("Content-Length", static_cast<uint64_t>(bodyLength));
  w.add("\r\n");
  return w.overflowed() ? 0 : w.size();
}

}  // namespace hs
