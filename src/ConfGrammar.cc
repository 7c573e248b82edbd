#include "ConfGrammar.h"

namespace hs {
namespace {

constexpr uint8_t kM = static_cast<uint8_t>(ConfContext::kMain);
constexpr uint8_t kS = static_cast<uint8_t>(ConfContext::kServer);
constexpr uint8_t kL = static_cast<uint8_t>(ConfContext::kLocation);
constexpr uint8_t kAll = kM | kS | kL;
constexpr uint8_t kA = static_cast<uint8_t>(ConfContext::kApp);
constexpr uint8_t kU = static_cast<uint8_t>(ConfContext::kUpstream);

// At the top level Config's flat table applies its own directives (workers, listen, root, ...)
// before this table is consulted; they are listed here so that a block can say they don't belong.
constexpr DirectiveSpec kSpecs[] = {
    {"workers", kM, 1, 1, 0},
    {"connections", kM, 1, 1, 0},
    {"daemon", kM, 1, 1, 0},
    {"header_timeout", kM, 1, 1, 0},
    {"keepalive_timeout", kM, 1, 1, 0},
    {"send_timeout", kM, 1, 1, 0},
    {"quit_timeout", kM, 1, 1, 0},
    {"max_body", kM, 1, 1, 0},
    {"thread_pool", kM, 1, 1, 0},
    {"client_body_buffer_size", kM, 1, 1, 0},
    {"client_body_temp_path", kM, 1, 1, 0},
    {"error_log", kM, 1, 1, 0},
    {"log_level", kM, 1, 1, 0},
    {"status_path", kM, 1, 1, 0},
    {"status_allow_remote", kM, 1, 1, 0},
    {"metrics_path", kM, 1, 1, 0},
    {"metrics_allow_remote", kM, 1, 1, 0},
    {"pid_file", kM, 1, 1, 0},
    {"user", kM | kA, 1, 1, 0},
    {"proxy_protocol", kM, 1, 1, 0},
    {"set_real_ip_from", kM | kS, 1, 1, 0},
    {"real_ip_header", kM | kS, 1, 1, 0},
    {"health_path", kM | kS, 1, 1, 0},
    {"drain_delay", kM, 1, 1, 0},
    {"server", kM, 0, 0, kS},
    {"location", kS | kL, 1, 2, kL},
    {"log_format", kM, 2, kAnyArgs, 0},
    {"listen", kM | kS, 1, 3, 0},
    {"server_name", kS, 1, kAnyArgs, 0},
    {"root", kAll, 1, 1, 0},
    {"alias", kL, 1, 1, 0},
    {"index", kAll, 1, kAnyArgs, 0},
    {"try_files", kS | kL, 2, kAnyArgs, 0},
    {"autoindex", kAll, 1, 1, 0},
    {"max_age", kAll, 1, 1, 0},
    {"expires", kAll, 1, 1, 0},
    {"add_header", kAll, 2, 3, 0},
    {"return", kS | kL, 1, 2, 0},
    {"error_page", kAll, 2, kAnyArgs, 0},
    {"allow", kAll, 1, 1, 0},
    {"deny", kAll, 1, 1, 0},
    {"auth_basic", kAll, 1, 1, 0},
    {"auth_basic_user_file", kAll, 1, 1, 0},
    {"gzip_static", kAll, 1, 1, 0},
    {"access_log", kAll, 1, 2, 0},
    {"client_max_body_size", kAll, 1, 1, 0},
    {"fastcgi_pass", kS | kL, 1, 1, 0},
    {"fastcgi_connect_timeout", kAll, 1, 1, 0},
    {"fastcgi_send_timeout", kAll, 1, 1, 0},
    {"fastcgi_read_timeout", kAll, 1, 1, 0},
    {"fastcgi_param", kAll, 2, 3, 0},
    {"internal", kL, 0, 0, 0},
    {"proxy_pass", kL, 1, 1, 0},
    {"proxy_set_header", kAll, 2, 2, 0},
    {"proxy_connect_timeout", kAll, 1, 1, 0},
    {"proxy_send_timeout", kAll, 1, 1, 0},
    {"proxy_read_timeout", kAll, 1, 1, 0},
    // app NAME { ... }: an application pool the master runs (AppConfig).
    {"app", kM, 1, 1, kA},
    {"command", kA, 1, kAnyArgs, 0},
    {"processes", kA, 1, 1, 0},
    {"socket", kA, 1, 1, 0},
    {"env", kA, 1, 1, 0},
    {"max_requests", kA, 1, 1, 0},
    {"queue", kA, 1, 1, 0},
    {"queue_timeout", kA, 1, 1, 0},
    // upstream NAME { ... }: a group of servers for fastcgi_pass and proxy_pass (UpstreamConfig).
    {"upstream", kM, 1, 1, kU},
};

// Inside an upstream block (nginx's directives; least_conn and hash are balance's synonyms).
constexpr DirectiveSpec kUpstreamSpecs[] = {
    {"server", kU, 1, kAnyArgs, 0}, {"balance", kU, 1, 2, 0},   {"least_conn", kU, 0, 0, 0},
    {"hash", kU, 1, 2, 0},          {"keepalive", kU, 1, 1, 0},
};

const char* contextName(ConfContext c) {
  switch (c) {
    case ConfContext::kMain:
      return "at the top level";
    case ConfContext::kServer:
      return "in a server block";
    case ConfContext::kLocation:
      return "in a location block";
    case ConfContext::kApp:
      return "in an app block";
    case ConfContext::kUpstream:
      return "in an upstream block";
  }
  return "";
}

std::string checkShape(const ConfNode& n, const DirectiveSpec& s, ConfContext context) {
  const std::string name = "'" + n.name + "'";
  if ((s.contexts & static_cast<uint8_t>(context)) == 0) {
    return name + " is not allowed " + contextName(context);
  }
  const size_t got = n.args.size();
  if (got < s.minArgs) {
    return "missing value for " + name + " (expected at least " + std::to_string(s.minArgs) +
           ", got " + std::to_string(got) + ")";
  }
  if (s.maxArgs != kAnyArgs && got > s.maxArgs) {
    return "too many values for " + name + " (expected at most " + std::to_string(s.maxArgs) +
           ", got " + std::to_string(got) + "; missing ';'?)";
  }
  if (s.opens != 0 && !n.block) return name + " needs a { } block";
  if (s.opens == 0 && n.block) return name + " takes no block";
  return "";
}

}  // namespace

const DirectiveSpec* findDirectiveSpec(std::string_view name, ConfContext context) {
  if (context == ConfContext::kUpstream) {
    for (const DirectiveSpec& s : kUpstreamSpecs) {
      if (s.name == name) return &s;
    }
  }
  for (const DirectiveSpec& s : kSpecs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

bool validBlockName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char ch : name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.';
    if (!ok) return false;
  }
  return true;
}

std::string checkDirective(const ConfNode& node, ConfContext context) {
  const DirectiveSpec* s = findDirectiveSpec(node.name, context);
  std::string why =
      s == nullptr ? "unknown directive '" + node.name + "'" : checkShape(node, *s, context);
  if (!why.empty()) return node.file + ":" + std::to_string(node.line) + ": " + why;
  const auto inner = static_cast<ConfContext>(s->opens);
  for (const ConfNode& child : node.children) {
    why = checkDirective(child, inner);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace hs
