#include "Htpasswd.h"

#include <cstring>

#include "ConfParser.h"
#include "HttpLexical.h"

namespace hs {
namespace {

constexpr size_t kMaxPassword = 1024;

bool supportedHash(std::string_view h) {
  return h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$") ||
         h.starts_with("$6$") || h.starts_with("$y$");
}

// Compares all of a and b's common length whatever they hold.
bool sameBytes(const char* a, size_t alen, const char* b, size_t blen) {
  unsigned char diff = alen == blen ? 0 : 1;
  const size_t n = alen < blen ? alen : blen;
  for (size_t i = 0; i < n; ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

int base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (isDigit(static_cast<unsigned char>(c))) return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding; returns the decoded length or cap+1 on any error.
size_t base64Decode(std::string_view in, char* out, size_t cap) {
  for (int pad = 0; pad < 2 && in.ends_with('='); ++pad) in.remove_suffix(1);
  size_t n = 0;
  unsigned acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64Value(c);
    if (v < 0) return cap + 1;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n == cap) return cap + 1;
      out[n++] = static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return bits >= 6 ? cap + 1 : n;
}

}  // namespace

Htpasswd::Htpasswd() : scratch_(new crypt_data()) {}
Htpasswd::~Htpasswd() = default;

bool Htpasswd::load(const std::string& file, std::string* err) {
  std::string text;
  return readConfFile(file, &text, err) && parse(text, file, err);
}

bool Htpasswd::parse(std::string_view text, const std::string& file, std::string* err) {
  users_.clear();
  int line = 0;
  while (!text.empty()) {
    ++line;
    const size_t nl = text.find('\n');
    std::string_view l = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (l.ends_with('\r')) l.remove_suffix(1);
    if (l.empty() || l[0] == '#') continue;
    const size_t colon = l.find(':');
    std::string why;
    const std::string_view name = l.substr(0, colon);
    if (colon == std::string_view::npos || colon == 0) {
      why = "expected USER:HASH";
    } else if (!supportedHash(l.substr(colon + 1))) {
      why = "user '" + std::string(name) +
            "': unsupported hash (use bcrypt, sha512-crypt or yescrypt, e.g. htpasswd -B)";
    }
    for (const User& u : users_) {
      if (why.empty() && u.name == name) why = "duplicate user '" + std::string(name) + "'";
    }
    if (!why.empty()) {
      *err = file + ":" + std::to_string(line) + ": " + why;
      return false;
    }
    // Extra ":fields" after the hash (as some tools write) are not part of it.
    std::string_view hash = l.substr(colon + 1);
    hash = hash.substr(0, hash.find(':'));
    users_.push_back({std::string(name), std::string(hash)});
  }
  return true;
}

bool Htpasswd::verify(std::string_view user, std::string_view password) const {
  if (users_.empty() || password.size() >= kMaxPassword) return false;
  const User* found = nullptr;
  for (const User& u : users_) {
    if (u.name == user) found = &u;
  }
  const User& against = found != nullptr ? *found : users_.front();
  char phrase[kMaxPassword];
  std::memcpy(phrase, password.data(), password.size());
  phrase[password.size()] = '\0';
  const char* out = crypt_rn(phrase, against.hash.c_str(), scratch_.get(), sizeof(crypt_data));
  std::memset(phrase, 0, sizeof phrase);
  if (out == nullptr) return false;
  const bool same = sameBytes(out, std::strlen(out), against.hash.data(), against.hash.size());
  // crypt() would stop at a NUL, so "pass\0anything" must not count as "pass".
  const bool hasNul = std::memchr(password.data(), '\0', password.size()) != nullptr;
  return same && found != nullptr && !hasNul;
}

bool decodeBasicAuth(std::string_view header, char* out, size_t cap, std::string_view* user,
                     std::string_view* password) {
  constexpr std::string_view kScheme = "basic ";
  if (!startsWithIgnoreCase(header, kScheme)) return false;
  header.remove_prefix(kScheme.size());
  while (!header.empty() && header.front() == ' ') header.remove_prefix(1);
  while (!header.empty() && header.back() == ' ') header.remove_suffix(1);
  const size_t n = base64Decode(header, out, cap);
  if (n > cap) return false;
  const std::string_view text(out, n);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  *user = text.substr(0, colon);
  *password = text.substr(colon + 1);
  return true;
}

}  // namespace hs
