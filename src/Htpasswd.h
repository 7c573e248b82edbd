// An htpasswd file ("user:hash" lines) for auth_basic, and checking a user's password against it
// with crypt(3): bcrypt ($2a$/$2b$/$2y$), sha512-crypt ($6$) and yescrypt ($y$). Loaded once per
// configuration; verification allocates nothing.
#pragma once

#include <crypt.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace hs {

class Htpasswd {
 public:
  Htpasswd();
  ~Htpasswd();
  Htpasswd(const Htpasswd&) = delete;
  Htpasswd& operator=(const Htpasswd&) = delete;

  // Reads FILE. Blank lines and lines starting with '#' are skipped. Returns false with
  // *err = "FILE:LINE: reason" for a line without ':', an empty user, a duplicate user or a hash
  // of another kind (DES, MD5, apr1, {SHA} are refused: they are too weak to offer).
  bool load(const std::string& file, std::string* err);
  bool parse(std::string_view text, const std::string& file, std::string* err);

  size_t size() const { return users_.size(); }

  // Whether `password` is `user`'s. The work does not depend on the password: the same crypt()
  // runs for an unknown user (against another user's hash) and the result is compared in full.
  // Not thread-safe (one scratch area per object; each worker has its own copy).
  bool verify(std::string_view user, std::string_view password) const;

 private:
  struct User {
    std::string name;
    std::string hash;
  };
  std::vector<User> users_;
  std::unique_ptr<crypt_data> scratch_;
};

// Decodes the credentials of an "Authorization: Basic ..." value into user and password (views
// into out[0..cap)). Returns false for another scheme, bad base64, no ':' or too long a value.
bool decodeBasicAuth(std::string_view header, char* out, size_t cap, std::string_view* user,
                     std::string_view* password);

}  // namespace hs
