// An appender over a caller's fixed buffer, for response heads, log lines and dates. Once anything
// does not fit, overflowed() is true and the contents must be discarded (the caller answers 500,
// drops the line or closes). No allocation. Pure code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hs {

class FixedWriter {
 public:
  FixedWriter(char* buf, size_t cap) : begin_(buf), p_(buf), end_(buf + cap) {}

  FixedWriter& add(std::string_view s) {
    if (static_cast<size_t>(end_ - p_) < s.size()) {
      overflow_ = true;
      return *this;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return *this;
  }
  FixedWriter& addNum(uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
      tmp[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    if (static_cast<size_t>(end_ - p_) < n) {
      overflow_ = true;
      return *this;
    }
    while (n > 0) *p_++ = tmp[--n];
    return *this;
  }
  // A header line: "name: value\r\n".
  FixedWriter& header(std::string_view name, std::string_view value) {
    return add(name).add(": ").add(value).add("\r\n");
  }
  FixedWriter& header(std::string_view name, uint64_t value) {
    return add(name).add(": ").addNum(value).add("\r\n");
  }

  size_t size() const { return static_cast<size_t>(p_ - begin_); }
  bool overflowed() const { return overflow_; }
  std::string_view view() const { return {begin_, size()}; }

 private:
  char* begin_;
  char* p_;
  char* end_;
  bool overflow_ = false;
};

}  // namespace hs
