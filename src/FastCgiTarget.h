// Where and how one location passes its requests to a FastCGI application: the upstream (or group),
// the document root (by name and opened), the script check and the timeouts. Plain data, built by
// GatewayTargets and used by FastCgiHandler.
#pragma once

#include <string>
#include <vector>

#include "LocationSettings.h"

namespace hs {

class Upstream;
class UpstreamGroup;

// Where and how one location passes its requests.
struct FastCgiTarget {
  Upstream* upstream = nullptr;    // one address (an app's socket, unix:PATH, HOST:PORT), or
  UpstreamGroup* group = nullptr;  // an upstream group: a server of it per request
  int connectTimeoutMs = 60'000;   // for a group's servers (an address's is in its Upstream)
  std::string documentRoot;        // SCRIPT_FILENAME = documentRoot + the script's URI path
  int rootFd = -1;                 // the same directory, for the check that the script exists
  bool checkScript = true;         // 404 unless the script is a regular file (regex locations)
  int sendTimeoutMs = 60'000;
  int readTimeoutMs = 60'000;
  std::string serverSoftware = "HttpServer";
  const std::vector<FastCgiParam>* params = nullptr;  // the location's fastcgi_param lines
};

}  // namespace hs
