#include "Config.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <string_view>

#include "HttpLexical.h"

namespace hs {
namespace {

// Why a value was rejected. `expect` completes "expected ..." and is always set; `range` is set
// when the value was well-formed but out of bounds, so the command line can say "procs must be at
// least 1 (got 0)" instead of repeating the whole format.
struct Problem {
  std::string expect;
  std::string range;
};

bool fail(Problem* p, std::string expect, std::string range = {}) {
  p->expect = std::move(expect);
  p->range = std::move(range);
  return false;
}

// Digits only, no sign. Saturates at UINT64_MAX instead of wrapping, so a huge value is reported
// as too large rather than silently becoming a small one.
bool parseDigits(std::string_view s, uint64_t* out) {
  if (!isDigits(s)) return false;
  if (!parseDecimal(s, out)) *out = UINT64_MAX;
  return true;
}

bool parseNumber(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out, Problem* p) {
  std::string expect = "a number from " + std::to_string(lo) + " to " + std::to_string(hi);
  uint64_t v = 0;
  if (!parseDigits(s, &v)) return fail(p, std::move(expect));
  if (v < lo) return fail(p, std::move(expect), "must be at least " + std::to_string(lo));
  if (v > hi) return fail(p, std::move(expect), "must be at most " + std::to_string(hi));
  *out = v;
  return true;
}

template <typename T>
bool parseInto(std::string_view s, uint64_t lo, uint64_t hi, T* field, Problem* p) {
  uint64_t v = 0;
  if (!parseNumber(s, lo, hi, &v, p)) return false;
  *field = static_cast<T>(v);
  return true;
}

// "10" and "10s" are seconds, "500ms" milliseconds; the result must be positive and fit an int.
bool parseTimeout(std::string_view s, int* ms, Problem* p) {
  const char* expect = "a positive whole number of seconds (10 or 10s) or milliseconds (500ms)";
  uint64_t unit = 1000;
  if (s.ends_with("ms")) {
    s.remove_suffix(2);
    unit = 1;
  } else if (s.ends_with('s')) {
    s.remove_suffix(1);
  }
  uint64_t v = 0;
  if (!parseDigits(s, &v)) return fail(p, expect);
  if (v == 0) return fail(p, expect, "must be positive");
  if (v > static_cast<uint64_t>(INT_MAX) / unit) {
    return fail(p, expect, "must be at most " + std::to_string(INT_MAX / 1000) + " seconds");
  }
  *ms = static_cast<int>(v * unit);
  return true;
}

// Bytes with an optional 1024-based suffix: 512, 64k, 1M, 2g.
bool parseSize(std::string_view s, uint64_t* out, Problem* p) {
  const char* expect = "a size in bytes, optionally with a k, m or g suffix (e.g. 1m)";
  unsigned shift = 0;
  const size_t unit =
      s.empty() ? std::string_view::npos : std::string_view("kKmMgG").find(s.back());
  if (unit != std::string_view::npos) {
    shift = 10 * static_cast<unsigned>(unit / 2 + 1);
    s.remove_suffix(1);
  }
  uint64_t v = 0;
  if (!parseDigits(s, &v)) return fail(p, expect);
  if (v > (UINT64_MAX >> shift)) return fail(p, expect, "is too large");
  *out = v << shift;
  return true;
}

bool parseOnOff(std::string_view s, bool* out, Problem* p) {
  if (s == "on" || s == "off") {
    *out = s == "on";
    return true;
  }
  return fail(p, "on or off");
}

// Accepts "::1" and "[::1]" alike and stores the address without brackets.
bool parseIp(std::string_view s, std::string* out, Problem* p) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  const std::string ip(s);
  unsigned char scratch[16];
  if (inet_pton(AF_INET, ip.c_str(), scratch) != 1 &&
      inet_pton(AF_INET6, ip.c_str(), scratch) != 1) {
    return fail(p, "an IPv4 or IPv6 address");
  }
  *out = ip;
  return true;
}

bool parseErrorPage(std::string_view code, std::string_view path, int* codeOut, Problem* p) {
  const char* expect = "a status code from 400 to 599 and a path starting with '/'";
  uint64_t v = 0;
  if (!parseDigits(code, &v) || v < 400 || v > 599 || !path.starts_with('/'))
    return fail(p, expect);
  *codeOut = static_cast<int>(v);
  return true;
}

// ---- Setters shared by command-line options and config-file directives --------------------------

using Setter = bool (*)(std::string_view value, Config* cfg, Problem* p);

bool setListen(std::string_view v, Config* cfg, Problem* p) {
  const char* expect = "ADDRESS:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)";
  std::string_view host;
  std::string_view port;
  if (v.starts_with('[')) {
    const size_t close = v.find(']');
    if (close == std::string_view::npos || v.substr(close + 1, 1) != ":") return fail(p, expect);
    host = v.substr(1, close - 1);
    port = v.substr(close + 2);
  } else {
    const size_t colon = v.rfind(':');
    // An unbracketed IPv6 address is ambiguous: "::1:8080" could end in a port or a group.
    if (colon == std::string_view::npos || v.substr(0, colon).find(':') != std::string_view::npos) {
      return fail(p, expect);
    }
    host = v.substr(0, colon);
    port = v.substr(colon + 1);
  }
  std::string ip;
  if (!parseIp(host, &ip, p)) return fail(p, expect);
  if (!parseInto(port, 1, 65535, &cfg->port, p)) return fail(p, expect);
  cfg->ip = std::move(ip);
  return true;
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
    {"daemon", 'd', "daemon", "on", setDaemon},
    {"header-timeout", 0, "header_timeout", nullptr, setHeaderTimeout},
    {"keepalive-timeout", 0, "keepalive_timeout", nullptr, setKeepaliveTimeout},
    {"send-timeout", 0, "send_timeout", nullptr, setSendTimeout},
    {"quit-timeout", 0, "quit_timeout", nullptr, setQuitTimeout},
    {"max-body", 0, "max_body", nullptr, setMaxBody},
    {"autoindex", 0, "autoindex", "on", setAutoindex},
    {"no-autoindex", 0, nullptr, "off", setAutoindex},
    {"max-age", 0, "max_age", nullptr, setMaxAge},
    {"error-page", 0, "error_page", nullptr, setErrorPageOption},
    {"access-log", 0, "access_log", nullptr, setAccessLog},
    {"error-log", 0, "error_log", nullptr, setErrorLog},
    {"log-level", 0, "log_level", nullptr, setLogLevel},
    {"status-path", 0, "status_path", nullptr, setStatusPath},
    {"status-allow-remote", 0, "status_allow_remote", "on", setStatusAllowRemote},
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

// Splits one line into words: '#' ends the line, spaces/tabs/CR separate, and one trailing ';'
// (an nginx habit) is dropped whether or not it touches the last word.
std::vector<std::string_view> splitLine(std::string_view line) {
  line = line.substr(0, line.find('#'));
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    const size_t start = line.find_first_not_of(" \t\r", i);
    if (start == std::string_view::npos) break;
    const size_t end = std::min(line.find_first_of(" \t\r", start), line.size());
    words.push_back(line.substr(start, end - start));
    i = end;
  }
  if (!words.empty() && words.back().ends_with(';')) {
    words.back().remove_suffix(1);
    if (words.back().empty()) words.pop_back();
  }
  return words;
}

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
    if (!fresh) {
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
    *err = "expected <ip> <port> <procs> <conns> (see --help)";
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

// Only reachable with a config file: without one, the four positionals were required.
bool checkComplete(const Config& cfg, std::string* err) {
  const char* what = nullptr;
  const char* directive = nullptr;
  if (cfg.ip.empty() || cfg.port == 0) {
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

constexpr size_t kMaxConfigBytes = 1 << 20;

}  // namespace

ArgsResult parseArgs(int argc, char** argv, Config* cfg, std::string* err) {
  CliArgs args;
  const ArgsResult scanned = scanArgs(argc, argv, &args, err);
  if (scanned != ArgsResult::kOk) return scanned;
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
  FileState state;
  std::string_view rest = text;
  for (int line = 1; !rest.empty(); ++line) {
    const size_t nl = rest.find('\n');
    const std::string_view current = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const std::vector<std::string_view> words = splitLine(current);
    if (words.empty()) continue;
    std::string why = applyDirective(words, line, &state, cfg);
    if (!why.empty()) {
      *err = file + ":" + std::to_string(line) + ": " + why;
      return false;
    }
  }
  return true;
}

bool loadConfigFile(const std::string& file, Config* cfg, std::string* err) {
  std::FILE* f = std::fopen(file.c_str(), "rbe");
  if (f == nullptr) {
    const int e = errno;
    *err = "cannot open config file '" + file + "': " + std::strerror(e);
    return false;
  }
  std::string text;
  char buf[4096];
  size_t n = 0;
  while (text.size() <= kMaxConfigBytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text.append(buf, n);
  }
  const int e = errno;
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    *err = "cannot read config file '" + file + "': " + std::strerror(e);
    return false;
  }
  if (text.size() > kMaxConfigBytes) {
    *err =
        "config file '" + file + "' is larger than " + std::to_string(kMaxConfigBytes) + " bytes";
    return false;
  }
  return parseConfigText(text, file, cfg, err);
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
  -d, --daemon                run in the background (default: foreground)
  --header-timeout T          time for a whole request head to arrive (default 10)
  --keepalive-timeout T       idle time allowed between requests (default 15)
  --send-timeout T            time allowed without write progress (default 60)
  --quit-timeout T            longest graceful stop after SIGQUIT (default 30)
                              T is whole seconds (10 or 10s) or milliseconds (500ms), above 0
  --max-body SIZE             largest request body read and discarded; more gets 413
                              (default 1m; bytes, or with a k, m or g suffix, 1024-based)
  --autoindex, --no-autoindex list directories without an index.html (default off)
  --max-age N                 send Cache-Control: max-age=N, N >= 0 seconds (default: no header)
  --error-page CODE=/path     page under the root for status CODE (400..599); may repeat
  --access-log PATH|off       access log file (default off)
  --error-log PATH            error log file (default stderr)
  --log-level LEVEL           error, warn, info or debug (default info)
  --status-path /path         serve server status at this path (default off)
  --status-allow-remote       let non-loopback clients see the status page (default loopback only)
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
  TTIN, TTOU  add or remove one worker
  CHLD        handled internally: exited workers are reaped and respawned

The config file format is described in docs/HttpServer.conf.example.
)";
}

}  // namespace hs
