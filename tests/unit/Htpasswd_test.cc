#include "Htpasswd.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <string>

namespace hs {
namespace {

std::string hashOf(const char* password, const char* prefix, unsigned long cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn(prefix, cost, nullptr, 0, salt, sizeof salt), nullptr) << prefix;
  crypt_data data{};
  const char* h = crypt_rn(password, salt, &data, sizeof data);
  EXPECT_NE(h, nullptr);
  return h != nullptr ? h : "";
}

TEST(HtpasswdTest, VerifiesEachSupportedHash) {
  const std::string text = "# users\n\nbob:" + hashOf("b0b pass", "$2b$", 5) +
                           "\nsha:" + hashOf("s3cret", "$6$", 1000) +
                           "\r\nyes:" + hashOf("yes!", "$y$", 0) + ":extra field\n";
  Htpasswd h;
  std::string err;
  ASSERT_TRUE(h.parse(text, "p", &err)) << err;
  EXPECT_EQ(h.size(), 3u);
  struct Case {
    const char* user;
    std::string_view password;
    bool ok;
  };
  const Case cases[] = {
      {"bob", "b0b pass", true},
      {"bob", "b0b pas", false},
      {"bob", "b0b pass ", false},
      {"bob", "", false},
      {"sha", "s3cret", true},
      {"sha", "S3cret", false},
      {"yes", "yes!", true},
      {"yes", "yes", false},
      {"Bob", "b0b pass", false},
      {"nobody", "b0b pass", false},
      {"", "", false},
      {"bob", std::string_view("b0b pass\0x", 10), false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.user) + ":" + std::string(c.password));
    EXPECT_EQ(h.verify(c.user, c.password), c.ok);
  }
  EXPECT_FALSE(h.verify("bob", std::string(2000, 'x')));
}

TEST(HtpasswdTest, RefusesWeakHashesAndMalformedLines) {
  struct Case {
    const char* text;
    const char* err;
  };
  const Case cases[] = {
      {"alice", "p:1: expected USER:HASH"},
      {"\n:$6$x$y", "p:2: expected USER:HASH"},
      {"a:$apr1$x$y",
       "p:1: user 'a': unsupported hash (use bcrypt, sha512-crypt or yescrypt, e.g. htpasswd -B)"},
      {"a:{SHA}abc",
       "p:1: user 'a': unsupported hash (use bcrypt, sha512-crypt or yescrypt, e.g. htpasswd -B)"},
      {"a:plain",
       "p:1: user 'a': unsupported hash (use bcrypt, sha512-crypt or yescrypt, e.g. htpasswd -B)"},
      {"a:$6$x$y\na:$6$x$z", "p:2: duplicate user 'a'"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    Htpasswd h;
    std::string err;
    EXPECT_FALSE(h.parse(c.text, "p", &err));
    EXPECT_EQ(err, c.err);
  }
}

TEST(HtpasswdTest, DecodesBasicCredentials) {
  struct Case {
    const char* header;
    bool ok;
    const char* user;
    const char* password;
  };
  const Case cases[] = {
      {"Basic YWxpY2U6c2VjcmV0", true, "alice", "secret"},
      {"basic  YWxpY2U6c2VjcmV0  ", true, "alice", "secret"},
      {"BASIC YTpiOmM=", true, "a", "b:c"},
      {"Basic Ojo=", true, "", ":"},
      {"Basic YTo", true, "a", ""},
      {"Bearer YWxpY2U6c2VjcmV0", false, "", ""},
      {"Basic YWxpY2U=", false, "", ""},
      {"Basic YWxp!2U6", false, "", ""},
      {"Basic Y", false, "", ""},
      {"Basic", false, "", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.header);
    char buf[64];
    std::string_view user, password;
    ASSERT_EQ(decodeBasicAuth(c.header, buf, sizeof buf, &user, &password), c.ok);
    if (!c.ok) continue;
    EXPECT_EQ(user, c.user);
    EXPECT_EQ(password, c.password);
  }
  char small[3];
  std::string_view u, p;
  EXPECT_FALSE(decodeBasicAuth("Basic YWxpY2U6c2VjcmV0", small, sizeof small, &u, &p));
}

}  // namespace
}  // namespace hs
