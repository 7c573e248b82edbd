// Parsers for configuration values (numbers, sizes, timeouts, on/off, addresses), shared by the
// command line, the flat directives and the block grammar. Pure: no syscalls, no globals.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hs {

// Why a value was rejected. `expect` completes "expected ..." and is always set; `range` is set
// when the value was well-formed but out of bounds, so the command line can say "procs must be at
// least 1 (got 0)" instead of repeating the whole format.
struct Problem {
  std::string expect;
  std::string range;
};

// Fills *p and returns false, so a parser can `return fail(p, ...)`.
bool fail(Problem* p, std::string expect, std::string range = {});

// Digits only, no sign. Saturates at UINT64_MAX instead of wrapping.
bool parseDigits(std::string_view s, uint64_t* out);

bool parseNumber(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out, Problem* p);

template <typename T>
bool parseInto(std::string_view s, uint64_t lo, uint64_t hi, T* field, Problem* p) {
  uint64_t v = 0;
  if (!parseNumber(s, lo, hi, &v, p)) return false;
  *field = static_cast<T>(v);
  return true;
}

// "10" and "10s" are seconds, "500ms" milliseconds; the result must be positive and fit an int.
bool parseTimeout(std::string_view s, int* ms, Problem* p);

// Bytes with an optional 1024-based suffix: 512, 64k, 1M, 2g.
bool parseSize(std::string_view s, uint64_t* out, Problem* p);

bool parseOnOff(std::string_view s, bool* out, Problem* p);

// Accepts "::1" and "[::1]" alike and stores the address without brackets.
bool parseIp(std::string_view s, std::string* out, Problem* p);

// A status code from 400 to 599 and a path starting with '/'.
bool parseErrorPage(std::string_view code, std::string_view path, int* codeOut, Problem* p);

// "ADDRESS:PORT" with an IPv4 address or a bracketed IPv6 one; *ip is stored without brackets.
bool parseAddress(std::string_view v, std::string* ip, uint16_t* port, Problem* p);

}  // namespace hs
