// The small lexical pieces of HTTP (RFC 9110 5.6) shared by every module that reads protocol text:
// character classes, OWS trimming, ASCII case-insensitive comparison, and decimal and hex numbers
// with overflow checks. Pure and constexpr: no locale, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hs {

// A 256-entry membership table of the bytes for which pred holds, built at compile time.
using ByteTable = std::array<bool, 256>;
template <typename Pred>
constexpr ByteTable byteTable(Pred pred) {
  ByteTable t{};
  for (unsigned c = 0; c < 256; ++c) t[c] = pred(static_cast<unsigned char>(c));
  return t;
}

constexpr bool isAlpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
constexpr bool isDigit(unsigned char c) { return c >= '0' && c <= '9'; }
constexpr bool isAlnum(unsigned char c) { return isAlpha(c) || isDigit(c); }

// OWS / BWS / RWS byte: SP or HTAB (RFC 9110 5.6.3).
constexpr bool isOws(unsigned char c) { return c == ' ' || c == '\t'; }

// tchar (RFC 9110 5.6.2).
inline constexpr ByteTable kTokenChars = byteTable([](unsigned char c) {
  return isAlnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
});
constexpr bool isTchar(unsigned char c) { return kTokenChars[c]; }

// field-vchar / SP / HTAB with obs-text (RFC 9110 5.5): any byte of a field value. The same set
// may follow the backslash of a quoted-pair (5.6.4).
constexpr bool isFieldValueByte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7F); }

// qdtext: a field-value byte other than DQUOTE and backslash (RFC 9110 5.6.4).
constexpr bool isQdtext(unsigned char c) { return isFieldValueByte(c) && c != '"' && c != '\\'; }

// token = 1*tchar
constexpr bool isToken(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (!isTchar(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

// The value of a hex digit (either case), or -1.
constexpr int hexValue(unsigned char c) {
  if (isDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The value of a base64 digit of the standard alphabet (RFC 4648 4), or -1; '=' is padding.
constexpr int base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (isDigit(c)) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Upper-case hex digits, indexed by value (for %XX and \xXX escapes).
inline constexpr char kHexDigitsUpper[] = "0123456789ABCDEF";

constexpr unsigned char toLowerAscii(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c | 0x20) : c;
}
constexpr char toLowerAscii(char c) {
  return static_cast<char>(toLowerAscii(static_cast<unsigned char>(c)));
}

// ASCII case-insensitive equality (tokens, header names, schemes); other bytes compare exactly.
constexpr bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (toLowerAscii(a[i]) != toLowerAscii(b[i])) return false;
  }
  return true;
}

// The same when `lower` is known to be lower case (a constant such as a header name): only `s` is
// folded, which the parser's hot path notices.
constexpr bool equalsLowerCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (toLowerAscii(s[i]) != lower[i]) return false;
  }
  return true;
}

constexpr bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// The length of the "http://" or "https://" (any case) that starts an absolute-form
// request-target; 0 when it has neither.
constexpr size_t httpSchemeLength(std::string_view target) {
  if (startsWithIgnoreCase(target, "http://")) return 7;
  if (startsWithIgnoreCase(target, "https://")) return 8;
  return 0;
}

constexpr std::string_view trimLeadingOws(std::string_view s) {
  while (!s.empty() && isOws(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  return s;
}

constexpr std::string_view trimOws(std::string_view s) {
  s = trimLeadingOws(s);
  while (!s.empty() && isOws(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Calls f(element) for each comma-separated element of a list with OWS trimmed (RFC 9110 5.6.1);
// empty elements are passed too. Returns false as soon as f does.
template <typename F>
constexpr bool forEachListElement(std::string_view list, F f) {
  for (;;) {
    const size_t comma = list.find(',');
    if (!f(trimOws(list.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

// 1*DIGIT with a value of at most `max`, into *out. False (and *out untouched) when s is empty,
// holds any other byte, or is larger than max; isDigits() tells the last case from the others.
constexpr bool parseDecimal(std::string_view s, uint64_t* out, uint64_t max = UINT64_MAX) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (!isDigit(c)) return false;
    const auto d = static_cast<uint64_t>(c - '0');
    if (d > max || v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

// 1*HEXDIG with a value of at most `max`, into *out; false as for parseDecimal.
constexpr bool parseHex(std::string_view s, uint64_t* out, uint64_t max = UINT64_MAX) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char ch : s) {
    const int h = hexValue(static_cast<unsigned char>(ch));
    if (h < 0) return false;
    const auto d = static_cast<uint64_t>(h);
    if (d > max || v > (max - d) / 16) return false;
    v = v * 16 + d;
  }
  *out = v;
  return true;
}

// 1*DIGIT, whatever its value.
constexpr bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char ch : s) {
    if (!isDigit(static_cast<unsigned char>(ch))) return false;
  }
  return true;
}

}  // namespace hs
