#include "Regex.h"

#include <gtest/gtest.h>

#include <string>

namespace hs {
namespace {

// The remembered outcomes must equal regexec's: every text is searched three times, interleaved
// with 200 others that evict and refill the table, and long texts bypass it.
TEST(RegexTest, RememberedOutcomesEqualRegexec) {
  struct Case {
    const char* name;
    const char* pattern;
    bool ignoreCase;
    std::string text;
    bool match;
  };
  const Case cases[] = {
      {"suffix", "\\.php$", false, "/index.php", true},
      {"suffix, not at the end", "\\.php$", false, "/index.php/x", false},
      {"case-sensitive", "\\.PNG$", false, "/a.png", false},
      {"case-insensitive", "\\.(png|jpg)$", true, "/a.PNG", true},
      {"anchored", "^/api/v[0-9]+/", false, "/api/v2/users", true},
      {"unanchored search", "git", false, "/x/.git/config", true},
      {"longer than the memo's texts", "z$", false, "/" + std::string(300, 'a') + "z", true},
      {"longer, no match", "q$", false, "/" + std::string(300, 'a') + "z", false},
  };
  for (int round = 0; round < 3; ++round) {
    for (const Case& c : cases) {
      SCOPED_TRACE(std::string(c.name) + ", round " + std::to_string(round));
      Regex re;
      ASSERT_EQ(re.compile(c.pattern, c.ignoreCase), "");
      for (int i = 0; i < 200; ++i) re.search("/other/" + std::to_string(i));
      EXPECT_EQ(re.search(c.text), c.match);
      EXPECT_EQ(re.search(c.text), c.match);
    }
  }
  Regex re;
  ASSERT_EQ(re.compile("^/a", false), "");
  for (int i = 0; i < 500; ++i) {
    const std::string text = (i % 2 == 0 ? "/a" : "/b") + std::to_string(i % 97);
    ASSERT_EQ(re.search(text), i % 2 == 0) << text;
  }
}

}  // namespace
}  // namespace hs
