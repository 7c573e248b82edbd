// A small Go net/http/fcgi application for the tests, built once per test run from source held
// here (Debian's golang-go), with its build cache in a temporary directory. It serves the socket
// it inherits on fd 0 (fcgi.Serve(nil, h)). Routes, by the path's last segment: .../hello
// (headers, two cookies, the request's X-Test header echoed), .../big?mib=N (N MiB of numbered
// 1 KiB lines), .../pid (its pid and $APP_COLOR), anything else a one-line page.
#pragma once

#include <string>

namespace hs::integration {

// The built binary's absolute path, or "" with *why set (no Go toolchain, or the build failed).
// The binary lives until the test program exits.
std::string goFcgiApp(std::string* why);

}  // namespace hs::integration
