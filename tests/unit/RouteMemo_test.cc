// RouteMemo answers only for the very text it was given: every length around its word-sized
// compares, a difference at every offset, and slots taken over by colliding texts.
#include "RouteMemo.h"

#include <gtest/gtest.h>

#include <string>

namespace hs {
namespace {

TEST(RouteMemoTest, FindsOnlyTheSameText) {
  for (size_t n = 0; n <= 40; ++n) {
    SCOPED_TRACE(n);
    RouteMemo<int> memo;
    memo.enable();
    std::string text(n, 'a');
    for (size_t i = 0; i < n; ++i) text[i] = static_cast<char>('a' + (i * 7 + n) % 26);
    uint64_t hash = 0;
    EXPECT_EQ(memo.find(text, &hash), nullptr);
    memo.remember(text, hash, static_cast<int>(n) + 1);
    const int* got = memo.find(text, &hash);
    ASSERT_NE(got, nullptr);
    EXPECT_EQ(*got, static_cast<int>(n) + 1);
    for (size_t i = 0; i < n; ++i) {  // one byte different at offset i
      SCOPED_TRACE(i);
      std::string other = text;
      other[i] = static_cast<char>(other[i] ^ 0x20);
      EXPECT_EQ(memo.find(other, &hash), nullptr);
    }
    EXPECT_EQ(memo.find(text + "a", &hash), nullptr);
    if (n > 0) {
      EXPECT_EQ(memo.find(text.substr(0, n - 1), &hash), nullptr);
    }
  }
}

TEST(RouteMemoTest, ASlotHoldsTheLatestTextAndLongTextsAreNotKept) {
  RouteMemo<int> memo;
  memo.enable();
  // More texts than slots: each is either found with its own value or not found at all.
  for (int i = 0; i < 1000; ++i) {
    const std::string t = "/t" + std::to_string(i);
    uint64_t hash = 0;
    memo.find(t, &hash);
    memo.remember(t, hash, i);
  }
  int found = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = "/t" + std::to_string(i);
    uint64_t hash = 0;
    if (const int* v = memo.find(t, &hash)) {
      EXPECT_EQ(*v, i) << t;
      ++found;
    }
  }
  EXPECT_GT(found, 0);
  EXPECT_LE(found, static_cast<int>(RouteMemo<int>::kSlots));
  const std::string longText(RouteMemo<int>::kMaxText + 1, 'x');
  uint64_t hash = 0;
  memo.find(longText, &hash);
  memo.remember(longText, hash, 1);
  EXPECT_EQ(memo.find(longText, &hash), nullptr);
}

}  // namespace
}  // namespace hs
