// A minimal blocking FastCGI client for the tests: one request on a fresh connection to a unix
// socket, built with the server's own encoder and decoded with its decoder. Bounded by socket
// timeouts, so a silent application fails a test instead of hanging it.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hs::integration {

struct FcgiReply {
  bool ok = false;  // END_REQUEST arrived
  std::string out;  // the application's STDOUT stream (CGI head and body)
  std::string err;
  std::string error;  // why !ok
};

// Sends a RESPONDER request with `params` and `body` on STDIN to the unix socket at `path`.
FcgiReply fcgiRequest(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& params,
                      const std::string& body = "");

// The PHP script at `script` (an absolute path) as php-cgi expects it for a GET.
std::vector<std::pair<std::string, std::string>> phpGetParams(const std::string& script,
                                                              const std::string& query);

}  // namespace hs::integration
