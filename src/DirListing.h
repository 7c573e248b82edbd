// The page of a directory listing (--autoindex): a table of name, size and modification time,
// directories first, then by name, every name HTML-escaped and its link percent-encoded, styled
// like the built-in error pages. Pure: the worker reads the directory and passes the entries.
#pragma once

#include <cstdint>
#include <ctime>
#include <span>
#include <string>
#include <string_view>

namespace hs {

struct DirEntry {
  std::string_view name;  // one path segment, as stored on disk
  bool isDir = false;
  uint64_t size = 0;
  time_t mtime = 0;
};

// Sorts `entries` (directories first, then by name, bytewise) and writes the page for the
// directory `dirPath` (relative to the root, "" for the root) into *out, replacing what was there.
// An entry whose name is too long to link (over 1 KiB) is left out.
void renderListing(std::string_view dirPath, std::span<DirEntry> entries, std::string* out);

}  // namespace hs
