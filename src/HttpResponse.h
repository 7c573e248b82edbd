// Building response heads into a caller-provided buffer: status lines, header lines, numbers, and
// the small built-in HTML error bodies. No I/O, no allocation. Pure code.
#pragma once

#include <string_view>

#include "FixedWriter.h"

namespace hs {

constexpr std::string_view kServerName = "HttpServer/1.0";

// "Not Found" for 404, "" for an unknown code.
std::string_view reasonPhrase(int status);

// The built-in body for an error status: a small HTML page naming the status.
std::string_view errorBody(int status);

// Appends "HTTP/1.1 <status> <reason>\r\n".
FixedWriter& writeStatusLine(FixedWriter& w, int status);

}  // namespace hs
