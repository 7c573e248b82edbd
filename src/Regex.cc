#include "Regex.h"

namespace hs {

Regex::~Regex() {
  if (compiled_) ::regfree(&re_);
}

std::string Regex::compile(const std::string& pattern, bool ignoreCase) {
  const int flags = REG_EXTENDED | REG_NOSUB | (ignoreCase ? REG_ICASE : 0);
  const int rc = ::regcomp(&re_, pattern.c_str(), flags);
  if (rc == 0) {
    compiled_ = true;
    return "";
  }
  char why[256];
  ::regerror(rc, &re_, why, sizeof why);
  return why;
}

bool Regex::search(std::string_view text) const {
  return compiled_ && ::regexec(&re_, text.data(), 0, nullptr, 0) == 0;
}

}  // namespace hs
