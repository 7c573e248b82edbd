#include "Config.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string_view>

#include "ConfGrammar.h"
#include "ConfParser.h"
#include "ConfValue.h"
#include "HttpLexical.h"

namespace hs {
namespace {

// ---- Setters shared by command-line options and config-file directives --------------------------

using Setter = bool (*)(std::string_view value, Config* cfg, Problem* p);

bool setListen(std::string_view v, Config* cfg, Problem* p) {
  return parseAddress(v, &cfg->ip, &cfg->port, p);
}

bool setProcs(std::string_view v, Config* cfg, Problem* p) {
  return parseInto(v, 1, 256, &cfg->procs, p);
}
bool setConns(std::string_view v, Config* cfg, Problem* p) {
  return parseInto(v, 1, 1'000'000, &cfg->conns, p);
}
bool setRoot(std::string_view v, Config* cfg, Problem*) {
  cfg->root = v;
  return true;
}
bool setHeaderTimeout(std::string_view v, Config* cfg, Problem* p) {
  return parseTimeout(v, &cfg->headerTimeoutMs, p);
}
bool setKeepaliveTimeout(std::string_view v, Config* cfg, Problem* p) {
  return parseTimeout(v, &cfg->keepaliveTimeoutMs, p);
}
bool setSendTimeout(std::string_view v, Config* cfg, Problem* p) {
  return parseTimeout(v, &cfg->sendTimeoutMs, p);
}
bool setQuitTimeout(std::string_view v, Config* cfg, Problem* p) {
  return parseTimeout(v, &cfg->quitTimeoutMs, p);
}
bool setMaxBody(std::string_view v, Config* cfg, Problem* p) {
  return parseSize(v, &cfg->maxBody, p);
}
bool setThreadPool(std::string_view v, Config* cfg, Problem* p) {
  return parseInto(v, 0, 64, &cfg->threadPool, p);
}
bool setBodyBufferSize(std::string_view v, Config* cfg, Problem* p) {
  if (!parseSize(v, &cfg->bodyBufferSize, p)) return false;
  if (cfg->bodyBufferSize == 0 || cfg->bodyBufferSize > (1u << 20)) {
    return fail(p, "a size from 1 to 1m");
  }
  return true;
}
bool setBodyTempPath(std::string_view v, Config* cfg, Problem* p) {
  if (!v.starts_with('/')) return fail(p, "an absolute directory path");
  cfg->bodyTempPath = v;
  return true;
}
bool setAutoindex(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->autoindex, p);
}
bool setMaxAge(std::string_view v, Config* cfg, Problem* p) {
  return parseInto(v, 0, INT_MAX, &cfg->maxAge, p);
}
bool setErrorPageOption(std::string_view v, Config* cfg, Problem* p) {
  const size_t eq = v.find('=');
  const std::string_view path = eq == std::string_view::npos ? "" : v.substr(eq + 1);
  int code = 0;
  if (!parseErrorPage(v.substr(0, eq), path, &code, p)) return false;
  cfg->errorPages[code] = path;
  return true;
}
bool setAccessLog(std::string_view v, Config* cfg, Problem*) {
  cfg->accessLog = v == "off" ? "" : v;
  return true;
}
bool setErrorLog(std::string_view v, Config* cfg, Problem*) {
  cfg->errorLog = v;
  return true;
}
bool setLogLevel(std::string_view v, Config* cfg, Problem* p) {
  constexpr std::string_view kNames[] = {"error", "warn", "info", "debug"};
  for (size_t i = 0; i < std::size(kNames); ++i) {
    if (v == kNames[i]) {
      cfg->logLevel = static_cast<LogLevel>(i);
      return true;
    }
  }
  return fail(p, "one of error, warn, info, debug");
}
bool setStatusPath(std::string_view v, Config* cfg, Problem* p) {
  if (!v.starts_with('/')) return fail(p, "a path starting with '/'");
  cfg->statusPath = v;
  return true;
}
bool setStatusAllowRemote(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->statusAllowRemote, p);
}
bool setMetricsPath(std::string_view v, Config* cfg, Problem* p) {
  if (!v.starts_with('/')) return fail(p, "a path starting with '/'");
  cfg->metricsPath = v;
  return true;
}
bool setMetricsAllowRemote(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->metricsAllowRemote, p);
}
bool setProxyProtocol(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->proxyProtocol, p);
}
bool setRealIpFrom(std::string_view v, Config* cfg, Problem* p) {
  AccessRule r;
  std::string why;
  if (v == "all" || !AccessRules::parse(v, true, &r, &why)) {
    return fail(p, "an address or ADDRESS/PREFIX");
  }
  cfg->realIpFrom.add(r);
  return true;
}
bool setRealIpHeader(std::string_view v, Config* cfg, Problem* p) {
  if (!equalsIgnoreCase(v, "X-Forwarded-For") && !equalsIgnoreCase(v, "X-Real-IP")) {
    return fail(p, "X-Forwarded-For or X-Real-IP");
  }
  cfg->realIpHeader = v;
  return true;
}
bool setHealthPath(std::string_view v, Config* cfg, Problem* p) {
  if (!v.starts_with('/')) return fail(p, "a path starting with '/'");
  cfg->healthPath = v;
  return true;
}
bool setDrainDelay(std::string_view v, Config* cfg, Problem* p) {
  if (v == "0") {
    cfg->drainDelayMs = 0;
    return true;
  }
  return parseTimeout(v, &cfg->drainDelayMs, p);
}
bool setPidFile(std::string_view v, Config* cfg, Problem*) {
  cfg->pidFile = v;
  return true;
}
bool setUser(std::string_view v, Config* cfg, Problem*) {
  cfg->user = v;
  return true;
}
bool setDaemon(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->daemon, p);
}
bool setTestOnly(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->testOnly, p);
}
bool setDumpConfig(std::string_view v, Config* cfg, Problem* p) {
  return parseOnOff(v, &cfg->dumpConfig, p) && parseOnOff(v, &cfg->testOnly, p);
}

// One row per setting. A flag option (flagValue set) takes no value on the command line and hands
// flagValue to the setter; its directive, if any, takes "on" or "off" in the file instead.
struct Setting {
  const char* option;     // long option without "--", or nullptr
  char shortName;         // 0 if none
  const char* directive;  // config-file name, or nullptr
  const char* flagValue;  // nullptr: the option takes a value
  Setter set;
};

constexpr Setting kSettings[] = {
    {nullptr, 0, "listen", nullptr, setListen},
    {nullptr, 0, "workers", nullptr, setProcs},
    {nullptr, 0, "connections", nullptr, setConns},
    {"root", 'r', "root", nullptr, setRoot},
    {nullptr, 't', nullptr, "on", setTestOnly},
    {nullptr, 'T', nullptr, "on", setDumpConfig},
    {"daemon", 'd', "daemon", "on", setDaemon},
    {"header-timeout", 0, "header_timeout", nullptr, setHeaderTimeout},
    {"keepalive-timeout", 0, "keepalive_timeout", nullptr, setKeepaliveTimeout},
    {"send-timeout", 0, "send_timeout", nullptr, setSendTimeout},
    {"quit-timeout", 0, "quit_timeout", nullptr, setQuitTimeout},
    {"max-body", 0, "max_body", nullptr, setMaxBody},
    {"thread-pool", 0, "thread_pool", nullptr, setThreadPool},
    {"body-buffer-size", 0, "client_body_buffer_size", nullptr, setBodyBufferSize},
    {"body-temp-path", 0, "client_body_temp_path", nullptr, setBodyTempPath},
    {"autoindex", 0, "autoindex", "on", setAutoindex},
    {"no-autoindex", 0, nullptr, "off", setAutoindex},
    {"max-age", 0, "max_age", nullptr, setMaxAge},
    {"error-page", 0, "error_page", nullptr, setErrorPageOption},
    {"access-log", 0, "access_log", nullptr, setAccessLog},
    {"error-log", 0, "error_log", nullptr, setErrorLog},
    {"log-level", 0, "log_level", nullptr, setLogLevel},
    {"status-path", 0, "status_path", nullptr, setStatusPath},
    {"status-allow-remote", 0, "status_allow_remote", "on", setStatusAllowRemote},
    {"metrics-path", 0, "metrics_path", nullptr, setMetricsPath},
    {"metrics-allow-remote", 0, "metrics_allow_remote", "on", setMetricsAllowRemote},
    {"proxy-protocol", 0, "proxy_protocol", "on", setProxyProtocol},
    {"set-real-ip-from", 0, "set_real_ip_from", nullptr, setRealIpFrom},
    {"real-ip-header", 0, "real_ip_header", nullptr, setRealIpHeader},
    {"health-path", 0, "health_path", nullptr, setHealthPath},
    {"drain-delay", 0, "drain_delay", nullptr, setDrainDelay},
    {"pid-file", 0, "pid_file", nullptr, setPidFile},
    {"user", 0, "user", nullptr, setUser},
};

const Setting* findOption(std::string_view name) {
  for (const Setting& s : kSettings) {
    if (name.size() == 2 && name[0] == '-' && s.shortName != 0 && name[1] == s.shortName) return &s;
    if (s.option != nullptr && name.starts_with("--") && name.substr(2) == s.option) return &s;
  }
  return nullptr;
}

const Setting* findDirective(std::string_view name) {
  for (const Setting& s : kSettings) {
    if (s.directive != nullptr && name == s.directive) return &s;
  }
  return nullptr;
}

// ---- Config file --------------------------------------------------------------------------------

struct FileState {
  std::map<std::string, int, std::less<>> firstLine;  // directive -> line it was first seen on
  std::map<int, int> errorPageLine;                   // status code -> line
};

// Applies one non-empty line; returns the reason (without "FILE:LINE: ") on failure, "" on success.
std::string applyDirective(const std::vector<std::string_view>& w, int line, FileState* st,
                           Config* cfg) {
  const std::string name(w[0]);
  const Setting* s = findDirective(name);
  if (s == nullptr) return "unknown directive '" + name + "'";
  const bool errorPage = s->set == setErrorPageOption;
  const size_t want = errorPage ? 2 : 1;
  const size_t got = w.size() - 1;
  if (got < want) {
    return "missing value for '" + name + "'" + (errorPage ? " (expected CODE /path)" : "");
  }
  if (got > want) {
    return "too many values for '" + name + "' (expected " + std::to_string(want) + ", got " +
           std::to_string(got) + ")";
  }
  std::string value(w[1]);
  Problem p;
  if (errorPage) {
    value += " " + std::string(w[2]);
    int code = 0;
    if (parseErrorPage(w[1], w[2], &code, &p)) {
      const auto [it, fresh] = st->errorPageLine.emplace(code, line);
      if (!fresh) {
        return "duplicate 'error_page' for " + std::to_string(code) + " (first on line " +
               std::to_string(it->second) + ")";
      }
      cfg->errorPages[code] = w[2];
      return "";
    }
  } else {
    const auto [it, fresh] = st->firstLine.emplace(name, line);
    if (!fresh && s->set != setRealIpFrom) {  // set_real_ip_from may repeat
      return "duplicate '" + name + "' (first on line " + std::to_string(it->second) + ")";
    }
    if (s->set(w[1], cfg, &p)) return "";
  }
  return "'" + name + "' expects " + p.expect + ", got '" + value + "'";
}

// ---- Command line -------------------------------------------------------------------------------

struct CliOption {
  const Setting* setting;
  std::string_view name;  // as written, for messages: "-r", "--root"
  std::string_view value;
};

struct CliArgs {
  std::vector<CliOption> options;
  std::vector<std::string_view> positional;
  std::string_view configFile;
  bool haveConfig = false;
};

// A lone "-" or a negative number is a (bad) positional, so the number check can explain it.
bool looksLikeOption(std::string_view a) {
  return a.size() >= 2 && a[0] == '-' && !isDigit(static_cast<unsigned char>(a[1]));
}

// Reads one option starting at argv[*i] (advancing *i past a separate value) into *out.
ArgsResult scanOption(int argc, char** argv, int* i, CliArgs* out, std::string* err) {
  const std::string_view arg = argv[*i];
  const size_t eq = arg.starts_with("--") ? arg.find('=') : std::string_view::npos;
  const std::string_view name = arg.substr(0, eq);
  const bool inlineValue = eq != std::string_view::npos;
  if (name == "-h" || name == "--help") return ArgsResult::kHelp;
  if (name == "-V" || name == "--version") return ArgsResult::kVersion;
  const bool isConfig = name == "-c" || name == "--config";
  const Setting* s = isConfig ? nullptr : findOption(name);
  if (!isConfig && s == nullptr) {
    *err = "unknown option '" + std::string(name) + "' (see --help)";
  } else if (s != nullptr && s->flagValue != nullptr) {
    if (!inlineValue) {
      out->options.push_back({s, name, s->flagValue});
      return ArgsResult::kOk;
    }
    *err = "option " + std::string(name) + " takes no value";
  } else {
    // Like getopt, the next word is the value even if it starts with '-'.
    const std::string_view value =
        inlineValue ? arg.substr(eq + 1) : (*i + 1 < argc ? argv[++*i] : "");
    if (value.empty()) {
      *err = "missing value for " + std::string(name);
    } else if (isConfig && out->haveConfig) {
      *err = "option " + std::string(name) + " given more than once";
    } else {
      if (isConfig) {
        out->haveConfig = true;
        out->configFile = value;
      } else {
        out->options.push_back({s, name, value});
      }
      return ArgsResult::kOk;
    }
  }
  return ArgsResult::kError;
}

// Sorts argv into options and positionals and checks option syntax; values are checked later,
// after the config file has been loaded, so that the command line overrides it.
ArgsResult scanArgs(int argc, char** argv, CliArgs* out, std::string* err) {
  bool endOfOptions = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (endOfOptions || !looksLikeOption(arg)) {
      out->positional.push_back(arg);
    } else if (arg == "--") {
      endOfOptions = true;
    } else if (const ArgsResult r = scanOption(argc, argv, &i, out, err); r != ArgsResult::kOk) {
      return r;
    }
  }
  return ArgsResult::kOk;
}

std::string cliError(std::string_view what, std::string_view value, const Problem& p,
                     bool positional) {
  const std::string v(value);
  if (!p.range.empty()) return std::string(what) + " " + p.range + " (got " + v + ")";
  if (positional) return "invalid " + std::string(what) + " '" + v + "': expected " + p.expect;
  return "invalid value '" + v + "' for " + std::string(what) + ": expected " + p.expect;
}

bool applyPositional(const std::vector<std::string_view>& pos, bool haveConfig, Config* cfg,
                     std::string* err) {
  if (pos.size() > 4) {
    *err = "unexpected argument '" + std::string(pos[4]) + "' (see --help)";
    return false;
  }
  if (pos.empty() && haveConfig) return true;
  if (pos.size() != 4) {
    // Name what is missing and what the given words were taken as: "missing <procs> <conns>
    // after <ip> <port> (127.0.0.1 8080)".
    constexpr const char* kNames[] = {"<ip>", "<port>", "<procs>", "<conns>"};
    std::string missing, given, values;
    for (size_t i = 0; i < 4; ++i) {
      std::string& to = i < pos.size() ? given : missing;
      to += std::string(to.empty() ? "" : " ") + kNames[i];
      if (i < pos.size()) values += std::string(values.empty() ? "" : " ") + std::string(pos[i]);
    }
    *err = "missing " + missing;
    if (!pos.empty()) *err += " after " + given + " (" + values + ")";
    if (haveConfig) *err += ": with -c give all four arguments or none";
    *err += " (see --help)";
    return false;
  }
  Problem p;
  if (!parseIp(pos[0], &cfg->ip, &p))
    *err = cliError("ip", pos[0], p, true);
  else if (!parseInto(pos[1], 1, 65535, &cfg->port, &p))
    *err = cliError("port", pos[1], p, true);
  else if (!setProcs(pos[2], cfg, &p))
    *err = cliError("procs", pos[2], p, true);
  else if (!setConns(pos[3], cfg, &p))
    *err = cliError("conns", pos[3], p, true);
  else
    return true;
  return false;
}

// Whether every server block names its own listen address (then no top-level one is needed).
bool serversListen(const Config& cfg) {
  bool any = false;
  for (const ConfNode& n : cfg.routing) {
    if (n.name != "server") continue;
    any = true;
    bool listens = false;
    for (const ConfNode& d : n.children) listens = listens || d.name == "listen";
    if (!listens) return false;
  }
  return any;
}

// Only reachable with a config file: without one, the four positionals were required.
bool checkComplete(const Config& cfg, std::string* err) {
  const char* what = nullptr;
  const char* directive = nullptr;
  if ((cfg.ip.empty() || cfg.port == 0) && !serversListen(cfg)) {
    what = "listen address";
    directive = "listen";
  } else if (cfg.procs == 0) {
    what = "worker count";
    directive = "workers";
  } else if (cfg.conns == 0) {
    what = "connection limit";
    directive = "connections";
  } else {
    return true;
  }
  *err = std::string("no ") + what + ": give <ip> <port> <procs> <conns> or '" + directive +
         "' in " + cfg.configFile;
  return false;
}

}  // namespace

ArgsResult parseArgs(int argc, char** argv, Config* cfg, std::string* err,
                     const char* defaultConfigFile) {
  CliArgs args;
  const ArgsResult scanned = scanArgs(argc, argv, &args, err);
  if (scanned != ArgsResult::kOk) return scanned;
  if (!args.haveConfig && args.positional.empty() && defaultConfigFile != nullptr) {
    args.haveConfig = true;
    args.configFile = defaultConfigFile;
  }
  if (args.haveConfig) {
    cfg->configFile = args.configFile;
    if (!loadConfigFile(cfg->configFile, cfg, err)) return ArgsResult::kError;
  }
  if (!applyPositional(args.positional, args.haveConfig, cfg, err)) return ArgsResult::kError;
  for (const CliOption& o : args.options) {
    Problem p;
    if (!o.setting->set(o.value, cfg, &p)) {
      *err = cliError(o.name, o.value, p, false);
      return ArgsResult::kError;
    }
  }
  return checkComplete(*cfg, err) ? ArgsResult::kOk : ArgsResult::kError;
}

bool parseConfigText(const std::string& text, const std::string& file, Config* cfg,
                     std::string* err) {
  std::vector<ConfNode> nodes;
  if (!parseConfTree(text, file, &nodes, err)) return false;
  FileState state;
  for (ConfNode& n : nodes) {
    // The flat table's process settings and defaults first, so their messages stay as they were;
    // the block grammar (servers, log formats, other defaults) is kept for the router.
    if (findDirective(n.name) == nullptr) {
      *err = checkDirective(n, ConfContext::kMain);
      if (!err->empty()) return false;
      cfg->routing.push_back(std::move(n));
      continue;
    }
    std::vector<std::string_view> words = {n.name};
    words.insert(words.end(), n.args.begin(), n.args.end());
    const std::string why =
        n.block ? "'" + n.name + "' takes no block" : applyDirective(words, n.line, &state, cfg);
    if (!why.empty()) {
      *err = n.file + ":" + std::to_string(n.line) + ": " + why;
      return false;
    }
  }
  return true;
}

bool loadConfigFile(const std::string& file, Config* cfg, std::string* err) {
  std::string text;
  return readConfFile(file, &text, err) && parseConfigText(text, file, cfg, err);
}

const char* usageText() {
  return R"(Usage: HttpServer <ip> <port> <procs> <conns> [options]
       HttpServer -c FILE [<ip> <port> <procs> <conns>] [options]

Serves static files from a document root over HTTP/1.1 with one master and <procs> workers.

Arguments:
  <ip>     address to listen on, IPv4 or IPv6 (e.g. 127.0.0.1, 0.0.0.0, ::1)
  <port>   port to listen on, 1..65535
  <procs>  number of worker processes, 1..256
  <conns>  maximum open connections per worker, 1..1000000

Options (a value may also be given as --option=value):
  -r, --root DIR              document root (default /var/www)
  -c, --config FILE           load FILE first; the command line then overrides it and the four
                              arguments become optional (give all four or none)
  -t                          check the configuration and exit
  -T                          check the configuration, then print it with includes expanded
  -d, --daemon                run in the background (default: foreground)
  --header-timeout T          time for a whole request head to arrive (default 10)
  --keepalive-timeout T       idle time allowed between requests (default 15)
  --send-timeout T            time allowed without write progress (default 60)
  --quit-timeout T            longest graceful stop after SIGQUIT (default 30)
                              T is whole seconds (10 or 10s) or milliseconds (500ms), above 0
  --max-body SIZE             largest request body read and discarded; more gets 413
  --body-buffer-size SIZE     a FastCGI request body kept in memory up to this (16k)
  --body-temp-path DIR        where larger bodies go, in unlinked files (/tmp)
                              (default 1m; bytes, or with a k, m or g suffix, 1024-based)
  --thread-pool N             threads per worker (0..64) that open, stat and read uncached files,
                              so a slow disk never stalls a worker; 0 does it inline (default 4)
  --autoindex, --no-autoindex list directories without an index.html (default off)
  --max-age N                 send Cache-Control: max-age=N, N >= 0 seconds (default: no header)
  --error-page CODE=/path     page under the root for status CODE (400..599); may repeat
  --access-log PATH|off       access log file (default off)
  --error-log PATH            error log file (default stderr)
  --log-level LEVEL           error, warn, info or debug (default info)
  --status-path /path         serve server status at this path (default off)
  --status-allow-remote       let non-loopback clients see the status page (default loopback only)
  --metrics-path /path        serve Prometheus metrics at this path (default off)
  --metrics-allow-remote      let non-loopback clients read the metrics (default loopback only)
  --proxy-protocol            every connection starts with a PROXY protocol header (v1 or v2)
  --set-real-ip-from CIDR     a trusted load balancer's address or network; may repeat
  --real-ip-header NAME       X-Forwarded-For or X-Real-IP: the client address from trusted peers
  --health-path /path         answer 200 here while serving, 503 while draining (default off)
  --drain-delay T             on QUIT or WINCH, keep serving this long with the health path
                              at 503 before accepting stops (default 5 with a health path, else 0)
  --pid-file PATH             write the master's pid to PATH (default none)
  --user NAME                 workers' user when started as root (default nobody; 'root' keeps root)
  -h, --help                  show this text and exit
  -V, --version               show the version and exit

Signals to the master process:
  TERM, INT   fast stop: close all connections and exit
  QUIT        graceful stop: finish in-flight requests, then exit (bounded by --quit-timeout)
  HUP         reload: re-read the config file (-c) and replace the workers
  USR1        reopen the log files (after rotation)
  USR2        binary upgrade: start a new master that inherits the listening socket
  WINCH       drain: health path 503, stop accepting after --drain-delay, keep the master
  TTIN, TTOU  add or remove one worker
  CHLD        handled internally: exited workers are reaped and respawned
)";
}

}  // namespace hs
