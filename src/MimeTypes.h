// File extension -> Content-Type, case-insensitive; text types carry "; charset=utf-8". Pure.
#pragma once

#include <string_view>

namespace hs {

// Returns the Content-Type for `path` from its last extension, or "application/octet-stream".
std::string_view mimeTypeFor(std::string_view path);

}  // namespace hs
