// A POSIX extended regular expression (regcomp), compiled once at configuration load and searched
// per request without compiling. glibc's regexec allocates its match state on every call, so the
// outcomes for recent texts are remembered (a direct-mapped table of kMemoSlots, texts up to
// kMemoText bytes): a text seen before is answered without regexec and without allocating. Owns
// its regex_t; not thread-safe (each worker has its own copy).
#pragma once

#include <regex.h>

#include <cstdint>
#include <memory>
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
  static constexpr size_t kMemoSlots = 64;
  static constexpr size_t kMemoText = 118;
  struct Memo {
    uint64_t hash = 0;
    uint8_t len = 0;  // 0: empty slot (an empty text is never remembered)
    bool match = false;
    char text[kMemoText];
  };

  regex_t re_{};
  bool compiled_ = false;
  std::unique_ptr<Memo[]> memo_;  // allocated with the compiled expression
};

}  // namespace hs
