// Which directives exist in the block grammar, where each may appear (top level, server, location)
// and how many arguments it takes. Adding a block type or a per-location handler directive (an
// upstream, fastcgi_pass, proxy_pass) is a row here plus the code that compiles it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ConfParser.h"

namespace hs {

enum class ConfContext : uint8_t {
  kMain = 1,
  kServer = 2,
  kLocation = 4,
  kApp = 8,
  kUpstream = 16
};

struct DirectiveSpec {
  std::string_view name;
  uint8_t contexts;  // ConfContext bits
  uint8_t minArgs;
  uint8_t maxArgs;  // kAnyArgs: no upper bound
  uint8_t opens;    // the ConfContext its { } block opens; 0: the directive takes no block
};

inline constexpr uint8_t kAnyArgs = 255;

// The row for `name` in `context`, or nullptr when the block grammar doesn't know it there. An
// upstream block has its own table: its `server ADDR ...` is not the top level's `server { }`.
const DirectiveSpec* findDirectiveSpec(std::string_view name,
                                       ConfContext context = ConfContext::kMain);

// A name an `app` or `upstream` block may have: 1 to 64 letters, digits, '_', '-' or '.'.
bool validBlockName(std::string_view name);

// Checks `node` as written in `context`, and its children in the context its block opens: known
// name, allowed there, argument count, block or not. Returns "" or "FILE:LINE: reason".
std::string checkDirective(const ConfNode& node, ConfContext context);

}  // namespace hs
