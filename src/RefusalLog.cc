#include "RefusalLog.h"

#include <cerrno>
#include <cstring>

#include "AccessLog.h"
#include "FixedWriter.h"
#include "Socket.h"

namespace hs {
namespace {

// Untrusted text goes in escaped and cut to this many bytes of output (whole escapes only).
constexpr size_t kMaxField = 240;

void addField(FixedWriter& w, std::string_view s) {
  char buf[kMaxField];
  FixedWriter field(buf, sizeof buf);
  appendLogEscaped(field, s);
  w.add(field.view());
  if (field.overflowed()) w.add("...");
}

void addFile(FixedWriter& w, const RefusalDetail& d) {
  w.add("\"");
  addField(w, d.root);
  if (!d.root.ends_with('/')) w.add("/");
  addField(w, d.path);
  w.add("\"");
}

void addCause(FixedWriter& w, const RefusalDetail& d) {
  switch (d.kind) {
    case Refusal::kOpenFailed:
      w.add("open() ");
      addFile(w, d);
      w.add(" failed (").addNum(static_cast<uint64_t>(d.err)).add(": ").add(::strerror(d.err));
      w.add(")");
      if (d.err == EXDEV) w.add(": the path leads out of the document root");
      if (d.err == ELOOP) w.add(": symbolic link not followed");
      return;
    case Refusal::kNotRegular:
      addFile(w, d);
      w.add(" is not a regular file or directory");
      return;
    case Refusal::kUnsafePath:
      w.add("request-target refused: ").add(d.reason != nullptr ? d.reason : "unsafe");
      return;
    case Refusal::kBodyTooLarge:
      if (d.size != 0) {
        w.add("client intended to send too large body: ").addNum(d.size).add(" bytes");
      } else {
        w.add("client sent too large chunked body");
      }
      w.add(" (max_body ").addNum(d.limit).add(")");
      return;
    case Refusal::kUriTooLong:
      w.add("client sent too long URI");
      return;
    case Refusal::kHeadTooLarge:
      w.add("client sent too large request head");
      return;
    case Refusal::kProxyHeader:
      w.add("connection refused: ").add(d.reason != nullptr ? d.reason : "bad PROXY header");
      return;
  }
}

}  // namespace

LogLevel refusalLevel(const RefusalDetail& d) {
  switch (d.kind) {
    case Refusal::kOpenFailed:
      return d.err == EXDEV || d.err == ELOOP ? LogLevel::kWarn : LogLevel::kError;
    case Refusal::kNotRegular:
      return LogLevel::kWarn;
    case Refusal::kProxyHeader:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

size_t formatRefusal(const RefusalDetail& d, const sockaddr_storage& peer,
                     std::string_view requestLine, char* out, size_t cap) {
  FixedWriter w(out, cap);
  addCause(w, d);
  char client[kEndpointLen] = "-";
  if (peer.ss_family == AF_INET || peer.ss_family == AF_INET6) {
    formatEndpoint(peer, client, sizeof client);
  }
  w.add(", client: ").add(client);
  if (!requestLine.empty()) {
    w.add(", request: \"");
    addField(w, requestLine);
    w.add("\"");
  }
  return w.size();
}

}  // namespace hs
