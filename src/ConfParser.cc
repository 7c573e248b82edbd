#include "ConfParser.h"

#include <glob.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hs {
namespace {

constexpr size_t kMaxConfigBytes = 1 << 20;
constexpr int kMaxIncludeDepth = 16;

enum class Tok : uint8_t { kWord, kSemicolon, kOpen, kClose, kNewline };

struct Token {
  Tok kind;
  int line;
  std::string text;
};

// nginx's escapes: \" \' \\ stand for the character, \t \r \n for the control, and any other
// backslash stays as written (so a regex's "\." survives unquoted).
void appendEscaped(char next, std::string* out) {
  switch (next) {
    case '"':
    case '\'':
    case '\\':
      out->push_back(next);
      return;
    case 't':
      out->push_back('\t');
      return;
    case 'r':
      out->push_back('\r');
      return;
    case 'n':
      out->push_back('\n');
      return;
    default:
      out->push_back('\\');
      out->push_back(next);
  }
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool endsWord(char c) { return isSpace(c) || c == ';' || c == '{' || c == '}' || c == '#'; }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // Returns "" or the reason for an error at *line.
  std::string run(std::vector<Token>* out, int* line) {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        out->push_back({Tok::kNewline, line_++, {}});
        ++pos_;
      } else if (isSpace(c)) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (c == ';' || c == '{' || c == '}') {
        out->push_back({c == ';'   ? Tok::kSemicolon
                        : c == '{' ? Tok::kOpen
                                   : Tok::kClose,
                        line_,
                        {}});
        ++pos_;
      } else {
        Token t{Tok::kWord, line_, {}};
        std::string why = c == '"' || c == '\'' ? quoted(&t.text) : bare(&t.text);
        if (!why.empty()) {
          *line = t.line;
          return why;
        }
        out->push_back(std::move(t));
      }
    }
    *line = line_;
    return "";
  }

 private:
  std::string quoted(std::string* word) {
    const char quote = text_[pos_++];
    while (pos_ < text_.size() && text_[pos_] != quote) {
      const char c = text_[pos_++];
      if (c == '\n') ++line_;
      if (c == '\\' && pos_ < text_.size()) {
        if (text_[pos_] == '\n') ++line_;
        appendEscaped(text_[pos_++], word);
      } else {
        word->push_back(c);
      }
    }
    if (pos_ == text_.size()) return "unterminated quoted string";
    ++pos_;
    if (pos_ < text_.size() && !endsWord(text_[pos_])) {
      return std::string("unexpected '") + text_[pos_] + "' after a quoted string";
    }
    return "";
  }

  std::string bare(std::string* word) {
    while (pos_ < text_.size() && !endsWord(text_[pos_])) {
      const char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size() && text_[pos_] != '\n') {
        appendEscaped(text_[pos_++], word);
      } else {
        word->push_back(c);
      }
    }
    return "";
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

std::string where(const std::string& file, int line) { return file + ":" + std::to_string(line); }

std::string dirOf(const std::string& file) {
  const size_t slash = file.rfind('/');
  return slash == std::string::npos ? "" : file.substr(0, slash + 1);
}

bool parseText(std::string_view text, const std::string& file, int depth,
               std::vector<ConfNode>* out, std::string* err);

class TreeBuilder {
 public:
  TreeBuilder(const std::vector<Token>& toks, const std::string& file, int depth)
      : toks_(toks), file_(file), depth_(depth) {
    for (const Token& t : toks) flat_ = flat_ && t.kind != Tok::kOpen;
  }

  // Reads directives up to the matching '}' (inBlock) or the end of the tokens.
  bool block(bool inBlock, std::vector<ConfNode>* out, std::string* err) {
    ConfNode node;
    bool pending = false;
    for (; pos_ < toks_.size(); ++pos_) {
      const Token& t = toks_[pos_];
      switch (t.kind) {
        case Tok::kWord:
          if (!pending) {
            node = ConfNode{t.text, {}, file_, t.line, false, {}};
            pending = true;
          } else {
            node.args.push_back(t.text);
          }
          continue;
        case Tok::kNewline:
          if (!flat_ || !pending) continue;
          [[fallthrough]];
        case Tok::kSemicolon:
          if (pending && !finish(std::move(node), out, err)) return false;
          pending = false;
          continue;
        case Tok::kOpen:
          if (!pending) return fail(t.line, "unexpected '{'", err);
          ++pos_;
          node.block = true;
          if (!block(true, &node.children, err)) return false;
          if (!finish(std::move(node), out, err)) return false;
          pending = false;
          continue;
        case Tok::kClose:
          if (pending) return fail(t.line, "unexpected '}' (missing ';'?)", err);
          if (!inBlock) return fail(t.line, "unexpected '}'", err);
          return true;
      }
    }
    const int last = toks_.empty() ? 1 : toks_.back().line;
    if (pending && !flat_) return fail(last, "unexpected end of file, expecting ';' or '}'", err);
    if (inBlock) return fail(last, "unexpected end of file, expecting '}'", err);
    return !pending || finish(std::move(node), out, err);
  }

 private:
  bool fail(int line, const std::string& why, std::string* err) {
    *err = where(file_, line) + ": " + why;
    return false;
  }

  bool finish(ConfNode node, std::vector<ConfNode>* out, std::string* err) {
    if (node.name != "include") {
      out->push_back(std::move(node));
      return true;
    }
    if (node.block) return fail(node.line, "'include' takes no block", err);
    if (node.args.size() != 1) return fail(node.line, "'include' expects one file or pattern", err);
    if (depth_ >= kMaxIncludeDepth) {
      return fail(node.line,
                  "includes nested deeper than " + std::to_string(kMaxIncludeDepth) +
                      " levels (an include cycle?)",
                  err);
    }
    return include(node, out, err);
  }

  bool include(const ConfNode& node, std::vector<ConfNode>* out, std::string* err) {
    const std::string& arg = node.args[0];
    const std::string pattern = arg.starts_with('/') ? arg : dirOf(file_) + arg;
    if (pattern.find_first_of("*?[") == std::string::npos) {
      return includeFile(pattern, node.line, out, err);
    }
    glob_t g{};
    const int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    bool ok = rc == 0 || rc == GLOB_NOMATCH;
    if (!ok) fail(node.line, "cannot read the files matching '" + pattern + "'", err);
    for (size_t i = 0; ok && rc == 0 && i < g.gl_pathc; ++i) {
      ok = includeFile(g.gl_pathv[i], node.line, out, err);
    }
    ::globfree(&g);
    return ok;
  }

  // A file that cannot be read is reported at the include; its own errors name itself.
  bool includeFile(const std::string& path, int line, std::vector<ConfNode>* out,
                   std::string* err) {
    std::string text;
    if (!readConfFile(path, &text, err)) return fail(line, *err, err);
    return parseText(text, path, depth_ + 1, out, err);
  }

  const std::vector<Token>& toks_;
  const std::string& file_;
  int depth_;
  bool flat_ = true;
  size_t pos_ = 0;
};

bool parseText(std::string_view text, const std::string& file, int depth,
               std::vector<ConfNode>* out, std::string* err) {
  std::vector<Token> toks;
  int line = 0;
  const std::string why = Lexer(text).run(&toks, &line);
  if (!why.empty()) {
    *err = where(file, line) + ": " + why;
    return false;
  }
  return TreeBuilder(toks, file, depth).block(false, out, err);
}

bool needsQuotes(std::string_view arg) {
  if (arg.empty()) return true;
  for (size_t i = 0; i < arg.size(); ++i) {
    const char c = arg[i];
    if (endsWord(c) || c == '"' || c == '\'') return true;
    if (c == '\\' && (i + 1 == arg.size() || std::strchr("\"'\\trn", arg[i + 1]) != nullptr)) {
      return true;
    }
  }
  return false;
}

void printArg(std::string_view arg, std::string* out) {
  if (!needsQuotes(arg)) {
    out->append(arg);
    return;
  }
  out->push_back('"');
  for (char c : arg) {
    if (c == '"' || c == '\\') out->push_back('\\');
    out->push_back(c);
  }
  out->push_back('"');
}

void printNodes(const std::vector<ConfNode>& nodes, int depth, std::string* out) {
  for (const ConfNode& n : nodes) {
    out->append(static_cast<size_t>(depth) * 4, ' ');
    printArg(n.name, out);
    for (const std::string& a : n.args) {
      out->push_back(' ');
      printArg(a, out);
    }
    if (!n.block) {
      out->append(";\n");
      continue;
    }
    out->append(" {\n");
    printNodes(n.children, depth + 1, out);
    out->append(static_cast<size_t>(depth) * 4, ' ');
    out->append("}\n");
  }
}

}  // namespace

bool parseConfTree(std::string_view text, const std::string& file, std::vector<ConfNode>* nodes,
                   std::string* err) {
  return parseText(text, file, 0, nodes, err);
}

bool readConfFile(const std::string& file, std::string* text, std::string* err) {
  std::FILE* f = std::fopen(file.c_str(), "rbe");
  if (f == nullptr) {
    const int e = errno;
    *err = "cannot open config file '" + file + "': " + std::strerror(e);
    return false;
  }
  char buf[4096];
  size_t n = 0;
  text->clear();
  while (text->size() <= kMaxConfigBytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0) {
    text->append(buf, n);
  }
  const int e = errno;
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) {
    *err = "cannot read config file '" + file + "': " + std::strerror(e);
    return false;
  }
  if (text->size() > kMaxConfigBytes) {
    *err =
        "config file '" + file + "' is larger than " + std::to_string(kMaxConfigBytes) + " bytes";
    return false;
  }
  return true;
}

std::string printConfTree(const std::vector<ConfNode>& nodes) {
  std::string out;
  printNodes(nodes, 0, &out);
  return out;
}

}  // namespace hs
