// Recent outcomes of a routing step that depends only on a short text (and the compiled
// configuration): the location for a URI, the server for a host, the normalized form of a Host
// value. A direct-mapped table of kSlots entries, texts up to kMaxText bytes, each with its value
// (trivially copyable). A repeated text is answered with one hash and one compare
// instead of walking names, prefixes and regexes again. The table is allocated once, when the
// configuration is compiled (enable()); lookups and updates allocate nothing. Not thread-safe:
// each worker has its own configuration.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace hs {

namespace memo_detail {

inline uint64_t load8(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline uint64_t load4(const char* p) {
  uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

// Equal texts of the same length `n`: short ones in two overlapping word compares.
inline bool sameText(const char* a, const char* b, size_t n) {
  if (n >= 8 && n <= 16) return load8(a) == load8(b) && load8(a + n - 8) == load8(b + n - 8);
  if (n >= 4 && n < 8) return load4(a) == load4(b) && load4(a + n - 4) == load4(b + n - 4);
  return n == 0 || std::memcmp(a, b, n) == 0;
}

}  // namespace memo_detail

// 64-bit hash of `text`: its first and last words (overlapping when shorter than 16 bytes) and
// every word between, mixed by multiplication.
inline uint64_t hashRouteText(std::string_view text) {
  using memo_detail::load4;
  using memo_detail::load8;
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  const char* p = text.data();
  const size_t n = text.size();
  uint64_t a = 0;
  uint64_t b = 0;
  if (n >= 8) {
    a = load8(p);
    b = load8(p + n - 8);
    for (size_t i = 8; i + 8 < n; i += 8) a = (a ^ load8(p + i)) * kMul + (a >> 31);
  } else if (n >= 4) {
    a = load4(p);
    b = load4(p + n - 4);
  } else if (n > 0) {
    a = static_cast<unsigned char>(p[0]) |
        static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
        static_cast<uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16;
  }
  uint64_t h = (a ^ n) * kMul ^ (b + n) * 0xC2B2AE3D27D4EB4Full;
  return h ^ (h >> 29);
}

template <typename V>
class RouteMemo {
 public:
  static constexpr size_t kSlots = 64;
  static constexpr size_t kMaxText = 110;

  RouteMemo() = default;
  RouteMemo(const RouteMemo&) = delete;
  RouteMemo& operator=(const RouteMemo&) = delete;
  RouteMemo(RouteMemo&&) noexcept = default;
  RouteMemo& operator=(RouteMemo&&) noexcept = default;

  void enable() { slots_ = std::make_unique<Slot[]>(kSlots); }
  bool enabled() const { return slots_ != nullptr; }

  // The remembered value for `text` (nullptr: not known); *hash is what remember() wants.
  const V* find(std::string_view text, uint64_t* hash) const {
    *hash = hashRouteText(text);
    const Slot& s = slots_[*hash % kSlots];
    if (s.used && s.hash == *hash && s.len == text.size() &&
        memo_detail::sameText(s.text, text.data(), text.size())) {
      return &s.value;
    }
    return nullptr;
  }

  // Texts longer than kMaxText are not remembered. Const because the memo belongs to a compiled
  // configuration that is otherwise read-only; the slots are not part of its meaning.
  void remember(std::string_view text, uint64_t hash, const V& value) const {
    if (text.size() > kMaxText) return;
    Slot& s = slots_[hash % kSlots];
    s.used = true;
    s.hash = hash;
    s.value = value;
    s.len = static_cast<uint8_t>(text.size());
    if (!text.empty()) std::memcpy(s.text, text.data(), text.size());
  }

 private:
  struct Slot {
    uint64_t hash = 0;
    bool used = false;
    uint8_t len = 0;
    char text[kMaxText];
    V value{};
  };
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace hs
