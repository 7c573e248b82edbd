// Building response heads into a caller-provided buffer: status lines, header lines, numbers, and
// the small built-in HTML error bodies. No I/O, no allocation. Pure code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hs {

constexpr std::string_view kServerName = "HttpServer/1.0";

// "Not Found" for 404, "" for an unknown code.
std::string_view reasonPhrase(int status);

// The built-in body for an error status: a small HTML page naming the status.
std::string_view errorBody(int status);

// Appends to a fixed buffer; once anything does not fit, overflowed() is true and the
// contents must be discarded (the caller answers 500 or closes).
class HeadWriter {
 public:
  HeadWriter(char* buf, size_t cap) : begin_(buf), p_(buf), end_(buf + cap) {}

  HeadWriter& add(std::string_view s) {
    if (static_cast<size_t>(end_ - p_) < s.size()) {
      overflow_ = true;
      return *this;
    }
    std::memcpy(p_, s.data(), s.size());
    p_ += s.size();
    return *this;
  }
  HeadWriter& addNum(uint64_t v);
  HeadWriter& statusLine(int status);  // "HTTP/1.1 200 OK\r\n"
  HeadWriter& header(std::string_view name, std::string_view value) {
    return add(name).add(": ").add(value).add("\r\n");
  }
  HeadWriter& header(std::string_view name, uint64_t value) {
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
