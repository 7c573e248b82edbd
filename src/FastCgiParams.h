// The FastCGI parameters of one request (nginx's standard set, fastcgi_params plus
// SCRIPT_FILENAME): the CGI meta-variables from the request and the location, and HTTP_* for
// every request header except Proxy (httpoxy) and names with '_' (which could pose as another
// header once '-' becomes '_'). Repeated headers are joined with ", " ("; " for Cookie), as nginx
// does. A location's fastcgi_param lines, expanded with their variables, override any of these.
// Pure code: writes into a FastCgiEncoder and a caller's scratch buffer, allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "FastCgiCodec.h"
#include "Handler.h"
#include "LocationSettings.h"

namespace hs {

// What the parameters need beyond the request itself.
struct FastCgiParamsInput {
  std::string_view documentRoot;  // without a trailing '/'
  std::string_view scriptName;    // the script's URI path ("/index.php"); DOCUMENT_URI too
  std::string_view pathInfo;      // "" unless the location splits one off
  std::string_view serverName;    // the configured name, or the Host without its port
  std::string_view serverAddr;    // the local address, textual
  uint16_t serverPort = 0;
  std::string_view serverSoftware;  // "HttpServer/x.y"
  int64_t contentLength = -1;       // the body's length; -1: no body
  // The location's fastcgi_param lines (may be null): each replaces the standard parameter or
  // header of its name, and is passed after them. HTTP_PROXY is never passed.
  const std::vector<FastCgiParam>* params = nullptr;
};

enum class ParamsStatus : uint8_t { kOk, kNoRoom };

// Writes every parameter into `enc` (not the empty PARAMS record that ends them). `scratch`
// (at least 16 KiB + 256 bytes) holds joined values, composed names and expanded fastcgi_param
// values until enc has copied them. kNoRoom: the encoder or the scratch buffer was too small (the
// gateway answers 500).
ParamsStatus writeFastCgiParams(const RequestContext& ctx, const FastCgiParamsInput& in,
                                FastCgiEncoder* enc, char* scratch, size_t scratchSize);

// Calls f(name, value) for each header line of a head that HttpParser accepted, in order; `head`
// starts at the request line. Values have their surrounding whitespace removed.
template <typename F>
void forEachHeaderLine(std::string_view head, F f) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    pos += 2;
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos || end == pos) return;
    std::string_view line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      f(line.substr(0, colon), value);
    }
    pos = end;
  }
}

}  // namespace hs
