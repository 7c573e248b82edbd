// The nginx-style configuration syntax: words, 'single' and "double" quoted strings, ';', blocks in
// { }, '#' comments and `include` (glob patterns, relative to the including file). Produces a tree
// of directives as written; what they mean is decided by ConfGrammar and the modules that compile
// them. Pure except for reading files (the config and what it includes).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hs {

// One directive as written: name, arguments (quotes removed, escapes resolved) and, for a block,
// its children. `file` and `line` say where it starts, for messages.
struct ConfNode {
  std::string name;
  std::vector<std::string> args;
  std::string file;
  int line = 0;
  bool block = false;
  std::vector<ConfNode> children;
};

// Parses `text`, read from `file`, into *nodes, expanding `include` directives in place.
//
// A file with no '{' at all is in the flat format: a line break also ends a directive, so the ';'
// is optional (as the line-based format always allowed). A file with blocks follows nginx: every
// directive ends with ';' or a block, and may span lines. '#' starts a comment anywhere outside
// quotes. Returns false with *err = "FILE:LINE: reason" at the first error.
bool parseConfTree(std::string_view text, const std::string& file, std::vector<ConfNode>* nodes,
                   std::string* err);

// Reads a whole config file (at most 1 MiB). Returns false with *err naming the file and errno.
bool readConfFile(const std::string& file, std::string* text, std::string* err);

// Prints nodes back in block syntax, four spaces per level, quoting arguments that need it. The
// output parses back to the same tree (-T).
std::string printConfTree(const std::vector<ConfNode>& nodes);

}  // namespace hs
