#include "AppConfig.h"

#include <charconv>

#include "ConfGrammar.h"
#include "ConfValue.h"

namespace hs {
namespace {

std::string where(const ConfNode& n) { return n.file + ":" + std::to_string(n.line) + ": "; }

bool parseCount(std::string_view text, uint64_t max, uint64_t* out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v > max) return false;
  *out = v;
  return true;
}

// One directive of an app block; "" or the reason.
std::string applyAppDirective(const ConfNode& d, AppSpec* app) {
  const std::string& v = d.args[0];
  if (d.name == "command") {
    if (v.empty() || v[0] != '/') return "'command' needs an absolute path, not '" + v + "'";
    app->command = d.args;
    return "";
  }
  if (d.name == "processes") {
    uint64_t n = 0;
    if (!parseCount(v, kMaxAppProcesses, &n) || n == 0) {
      return "'processes' must be 1.." + std::to_string(kMaxAppProcesses) + ", not '" + v + "'";
    }
    app->processes = static_cast<int>(n);
    return "";
  }
  if (d.name == "socket") {
    if (!v.starts_with("unix:/") || v.size() > 6 + 100) {
      return "'socket' must be unix:/ABSOLUTE/PATH (at most 100 bytes), not '" + v + "'";
    }
    app->socketPath = v.substr(5);
    return "";
  }
  if (d.name == "env") {
    size_t eq = v.find('=');
    if (eq == 0 || eq == std::string::npos) return "'env' needs NAME=VALUE, not '" + v + "'";
    app->env.push_back(v);
    return "";
  }
  if (d.name == "user") {
    app->user = v;
    return "";
  }
  if (d.name == "queue") {
    uint64_t n = 0;
    if (!parseCount(v, kMaxAppQueue, &n)) {
      return "'queue' must be 0.." + std::to_string(kMaxAppQueue) + ", not '" + v + "'";
    }
    app->queue = static_cast<uint32_t>(n);
    return "";
  }
  if (d.name == "queue_timeout") {
    Problem p;
    if (!parseTimeout(v, &app->queueTimeoutMs, &p)) {
      return "'queue_timeout' expects a time such as 10s or 500ms, not '" + v + "'";
    }
    return "";
  }
  if (d.name == "max_requests") {
    if (!parseCount(v, UINT32_MAX, &app->maxRequests)) {
      return "'max_requests' must be a number (0: never), not '" + v + "'";
    }
    return "";
  }
  return "unknown directive '" + d.name + "' in an app block";
}

std::string compileApp(const ConfNode& n, AppSpec* app) {
  app->name = n.args[0];
  app->file = n.file;
  app->line = n.line;
  if (!validBlockName(app->name)) {
    return where(n) + "app name '" + app->name + "' must be letters, digits, '_', '-' or '.'";
  }
  for (const ConfNode& d : n.children) {
    if (d.name != "env") {
      for (const ConfNode& e : n.children) {
        if (&e != &d && e.name == d.name && &e < &d) {
          return where(d) + "duplicate '" + d.name + "' (first at line " + std::to_string(e.line) +
                 ")";
        }
      }
    }
    std::string why = applyAppDirective(d, app);
    if (!why.empty()) return where(d) + why;
  }
  if (app->command.empty()) return where(n) + "app '" + app->name + "' has no 'command'";
  return "";
}

}  // namespace

bool compileApps(const Config& cfg, std::vector<AppSpec>* out, std::string* err) {
  out->clear();
  for (const ConfNode& n : cfg.routing) {
    if (n.name != "app") continue;
    AppSpec app;
    *err = compileApp(n, &app);
    if (err->empty() && findApp(*out, app.name) != nullptr) {
      *err = where(n) + "duplicate app '" + app.name + "'";
    }
    if (!err->empty()) return false;
    out->push_back(std::move(app));
  }
  return true;
}

const AppSpec* findApp(const std::vector<AppSpec>& apps, std::string_view name) {
  for (const AppSpec& a : apps) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace hs
