// A POSIX extended regular expression (regcomp), compiled once at configuration load and searched
// per request without compiling or allocating. Owns its regex_t.
#pragma once

#include <regex.h>

#include <string>
#include <string_view>

namespace hs {

class Regex {
 public:
  Regex() = default;
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Returns "" or regerror's reason.
  std::string compile(const std::string& pattern, bool ignoreCase);
  // Unanchored search; `text` must be NUL-terminated (text.data()[text.size()] == '\0').
  bool search(std::string_view text) const;

 private:
  regex_t re_{};
  bool compiled_ = false;
};

}  // namespace hs
