#include "Regex.h"

#include <cstring>

namespace hs {

Regex::~Regex() {
  if (compiled_) ::regfree(&re_);
}

std::string Regex::compile(const std::string& pattern, bool ignoreCase) {
  const int flags = REG_EXTENDED | REG_NOSUB | (ignoreCase ? REG_ICASE : 0);
  const int rc = ::regcomp(&re_, pattern.c_str(), flags);
  if (rc == 0) {
    compiled_ = true;
    memo_ = std::make_unique<Memo[]>(kMemoSlots);
    return "";
  }
  char why[256];
  ::regerror(rc, &re_, why, sizeof why);
  return why;
}

bool Regex::search(std::string_view text) const {
  if (!compiled_) return false;
  if (text.empty() || text.size() > kMemoText)
    return ::regexec(&re_, text.data(), 0, nullptr, 0) == 0;
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (char c : text) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  Memo& m = memo_[hash % kMemoSlots];
  if (m.hash == hash && m.len == text.size() &&
      std::memcmp(m.text, text.data(), text.size()) == 0) {
    return m.match;
  }
  m.match = ::regexec(&re_, text.data(), 0, nullptr, 0) == 0;
  m.hash = hash;
  m.len = static_cast<uint8_t>(text.size());
  std::memcpy(m.text, text.data(), text.size());
  return m.match;
}

}  // namespace hs
