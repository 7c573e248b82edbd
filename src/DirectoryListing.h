// The HTML page listing a directory (--autoindex): entries sorted directories first, then by name;
// hidden entries (a leading '.') omitted; names HTML-escaped and their links percent-encoded.
// This is the one response built with heap allocation (see docs/ARCHITECTURE.md).
#pragma once

#include <string>
#include <string_view>

namespace hs {

// Lists the directory open at `dirFd` (borrowed), shown as `dirPath` (relative to the root, no
// leading '/'), into `out`. Returns false when the directory cannot be read.
bool buildDirectoryListing(int dirFd, std::string_view dirPath, std::string& out);

}  // namespace hs
