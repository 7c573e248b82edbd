// Test helper: checks that a resumable parser gives the same result for every split of its input.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace hs {

// `feed(input, cuts)` parses `input` handed over in pieces that end at each offset in `cuts` (and
// at the end). Expects `whole` for every single split point and for byte-by-byte feeding.
template <typename Feed, typename Result>
void expectSplitInvariant(std::string_view input, const Result& whole, Feed feed) {
  for (size_t k = 0; k <= input.size(); ++k) {
    SCOPED_TRACE("split at " + std::to_string(k));
    EXPECT_EQ(feed(input, std::vector<size_t>{k}), whole);
  }
  std::vector<size_t> everyByte;
  for (size_t k = 0; k < input.size(); ++k) everyByte.push_back(k);
  SCOPED_TRACE("byte by byte");
  EXPECT_EQ(feed(input, everyByte), whole);
}

}  // namespace hs
