// A directory listing (--autoindex): reads the directory's visible entries (hidden ones, with a
// leading '.', are omitted) and renders them with DirListing (a table of name, size and modified
// time, directories first, names HTML-escaped). This is the one response built with heap
// allocation (see docs/ARCHITECTURE.md).
#pragma once

#include <string>
#include <string_view>

namespace hs {

// Lists the directory open at `dirFd` (borrowed), shown as `dirPath` (relative to the root, no
// leading '/'), into `out`. Returns false when the directory cannot be read.
bool buildDirectoryListing(int dirFd, std::string_view dirPath, std::string& out);

}  // namespace hs
