// Server configuration: a plain struct, filled from the command line and/or a config file by pure
// functions (no globals, no syscalls other than reading the config file in loadConfigFile).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "AccessRules.h"
#include "ConfParser.h"
#include "Log.h"

namespace hs {

struct Config {
  // Listening and sizing (positional: <ip> <port> <procs> <conns>).
  std::string ip;
  uint16_t port = 0;
  int procs = 0;
  int conns = 0;

  std::string root = "/var/www";
  std::string configFile;  // --config / -c

  // Timeouts in milliseconds (options take seconds, or a value with an "ms" suffix).
  int headerTimeoutMs = 10'000;     // --header-timeout: whole request head must arrive in time
  int keepaliveTimeoutMs = 15'000;  // --keepalive-timeout: idle between requests
  int sendTimeoutMs = 60'000;       // --send-timeout: no write progress for this long
  int quitTimeoutMs = 30'000;       // --quit-timeout: bound on a graceful stop (SIGQUIT)

  uint64_t maxBody = 1 << 20;  // --max-body: request bodies are read and discarded up to this (413)
  // A body a FastCGI location passes on is buffered first: in memory up to this many bytes
  // (client_body_buffer_size), beyond it in an unlinked file in bodyTempPath
  // (client_body_temp_path).
  uint64_t bodyBufferSize = 16 * 1024;
  std::string bodyTempPath = "/tmp";

  // --thread-pool N: threads per worker for blocking file work (opens, stats, small-file reads of
  // cache misses, read-ahead of large bodies); 0 does that work on the worker's own thread.
  int threadPool = 4;

  bool autoindex = false;                 // --autoindex
  int maxAge = -1;                        // --max-age N: Cache-Control: max-age=N (-1: no header)
  std::map<int, std::string> errorPages;  // --error-page CODE=/path (path under the root)

  std::string accessLog;                // --access-log PATH|off ("" = off)
  std::string errorLog;                 // --error-log PATH ("" = stderr)
  LogLevel logLevel = LogLevel::kInfo;  // --log-level error|warn|info|debug

  std::string statusPath;           // --status-path /server-status ("" = off)
  bool statusAllowRemote = false;   // --status-allow-remote (otherwise loopback clients only)
  std::string metricsPath;          // --metrics-path /metrics ("" = off): Prometheus text format
  bool metricsAllowRemote = false;  // --metrics-allow-remote (otherwise loopback clients only)

  // Behind a load balancer (docs/DEPLOYMENT.md).
  bool proxyProtocol = false;  // --proxy-protocol: each connection starts with a PROXY header
  AccessRules realIpFrom;      // --set-real-ip-from CIDR (may repeat): the trusted balancers
  std::string realIpHeader;    // --real-ip-header NAME: the client address field ("" = off)
  std::string healthPath;      // --health-path /healthz ("" = off)
  int drainDelayMs = -1;       // --drain-delay T (-1: 5 s with a health path, else 0)

  std::string pidFile;      // --pid-file PATH
  std::string user;         // --user NAME (workers drop to it when started as root)
  bool daemon = false;      // --daemon / -d
  bool testOnly = false;    // -t: check the configuration and exit
  bool dumpConfig = false;  // -T: check it, then print it with includes expanded

  // Top-level directives of the block grammar (server blocks, log_format, defaults that have no
  // command-line option), checked against ConfGrammar and compiled by RouteConfig.
  std::vector<ConfNode> routing;

  // Not read from anywhere: the master fills it once it has created the apps' sockets (app name ->
  // unix socket path), so that the workers it forks can reach them.
  std::map<std::string, std::string> appSockets;
  std::map<std::string, int> appProcesses;
};

// The drain delay in effect: the configured one, or its default.
inline int drainDelayMs(const Config& cfg) {
  if (cfg.drainDelayMs >= 0) return cfg.drainDelayMs;
  return cfg.healthPath.empty() ? 0 : 5'000;
}

enum class ArgsResult : uint8_t { kOk, kHelp, kVersion, kError };

// Parses argv into *cfg. When --config/-c is present the file is loaded first (loadConfigFile) and
// the command line then overrides it; positional arguments are then optional. On kError, *err is
// one line naming the bad argument and why. Semantic checks of values (ranges) happen here too;
// checks that need the system (root readable, address free) are left to the caller. Without -c and
// without positional arguments, `defaultConfigFile` (when not null) is loaded as if given with -c,
// as nginx reads its installed configuration.
ArgsResult parseArgs(int argc, char** argv, Config* cfg, std::string* err,
                     const char* defaultConfigFile = nullptr);

// Parses a config file's text (see docs/HttpServer.conf.example and ConfParser.h: the flat
// line-based format or nginx-style blocks) into *cfg. Returns false with *err = "FILE:LINE: reason"
// at the first error. `file` names the text in messages and anchors relative includes.
bool parseConfigText(const std::string& text, const std::string& file, Config* cfg,
                     std::string* err);

// Reads FILE and calls parseConfigText.
bool loadConfigFile(const std::string& file, Config* cfg, std::string* err);

// Usage text for --help.
const char* usageText();

}  // namespace hs
