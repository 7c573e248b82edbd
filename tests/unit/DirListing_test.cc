#include "DirListing.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace hs {
namespace {

constexpr time_t kNov30 = 1'796'023'800;  // 2026-11-30 07:30:00 UTC

std::string listing(std::string_view dir, std::vector<DirEntry> entries) {
  std::string out = "left over";
  renderListing(dir, entries, &out);
  return out;
}

// The rows of the table, in order, without the header row.
std::vector<std::string> rows(const std::string& page) {
  std::vector<std::string> r;
  size_t at = 0;
  while ((at = page.find("<tr><td>", at)) != std::string::npos) {
    size_t end = page.find("</tr>", at);
    r.push_back(page.substr(at, end + 5 - at));
    at = end;
  }
  return r;
}

TEST(DirListingTest, OneRowPerEntryWithNameSizeAndTime) {
  std::string page = listing("docs", {{"a.txt", false, 1234, kNov30}, {"img", true, 4096, kNov30}});
  std::vector<std::string> r = rows(page);
  ASSERT_EQ(r.size(), 3u) << page;
  EXPECT_EQ(r[0], "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>");
  EXPECT_EQ(r[1],
            "<tr><td><a href=\"img/\">img/</a></td><td class=\"n\">-</td><td>2026-11-30 "
            "07:30</td></tr>");
  EXPECT_EQ(r[2],
            "<tr><td><a href=\"a.txt\">a.txt</a></td><td class=\"n\">1234</td><td>2026-11-30 "
            "07:30</td></tr>");
  EXPECT_NE(page.find("<title>Index of /docs/</title>"), std::string::npos);
  EXPECT_NE(page.find("<th>Name</th><th class=\"n\">Size</th><th>Modified (UTC)</th>"),
            std::string::npos);
  EXPECT_EQ(page.find("left over"), std::string::npos);
}

struct OrderCase {
  const char* name;
  std::vector<DirEntry> entries;
  std::vector<std::string> order;  // the names as linked, in the page's order
};

TEST(DirListingTest, DirectoriesFirstThenByName) {
  const OrderCase cases[] = {
      {"files only", {{"b"}, {"a"}, {"c"}}, {"a", "b", "c"}},
      {"dirs before files",
       {{"z.txt"}, {"y", true}, {"a.txt"}, {"b", true}},
       {"b/", "y/", "a.txt", "z.txt"}},
      {"bytewise: upper case before lower", {{"b"}, {"B"}, {"a"}}, {"B", "a", "b"}},
      {"empty directory", {}, {}},
  };
  for (const OrderCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> r = rows(listing("", c.entries));
    ASSERT_EQ(r.size(), c.order.size());  // no "../" row at the root
    for (size_t i = 0; i < r.size(); ++i) {
      EXPECT_NE(r[i].find("\">" + c.order[i] + "</a>"), std::string::npos) << r[i];
    }
  }
}

struct EscapeCase {
  const char* name;
  const char* file;
  const char* href;
  const char* text;
};

TEST(DirListingTest, NamesAreEscapedInTextAndLinks) {
  const EscapeCase cases[] = {
      {"ampersand", "a&b.txt", "a&amp;b.txt", "a&amp;b.txt"},
      {"markup", "<x>.txt", "%3Cx%3E.txt", "&lt;x&gt;.txt"},
      {"space", "space name", "space%20name", "space name"},
      {"quotes", "q\"'.txt", "q%22&#39;.txt", "q&quot;&#39;.txt"},
      {"utf-8", "caf\xc3\xa9", "caf%C3%A9", "caf\xc3\xa9"},
      {"an entity-like name", "a&lt;b", "a&amp;lt;b", "a&amp;lt;b"},
  };
  for (const EscapeCase& c : cases) {
    SCOPED_TRACE(c.name);
    std::string page = listing("", {{c.file, false, 1, kNov30}});
    EXPECT_NE(page.find(std::string("<a href=\"") + c.href + "\">" + c.text + "</a>"),
              std::string::npos)
        << page;
  }
  std::string page = listing("<dir>&", {});
  EXPECT_NE(page.find("<title>Index of /&lt;dir&gt;&amp;/</title>"), std::string::npos) << page;
  EXPECT_EQ(page.find("<dir>"), std::string::npos);
}

TEST(DirListingTest, OverlongNamesAreLeftOut) {
  std::string longName(2000, 'x');
  std::vector<std::string> r = rows(listing("", {{longName}, {"ok"}}));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find(">ok</a>"), std::string::npos);
}

TEST(DirListingTest, StyledLikeTheErrorPages) {
  std::string page = listing("", {});
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(page.find("<header>HttpServer</header>"), std::string::npos);
  EXPECT_NE(page.find("linear-gradient(90deg,#1e40af,#3268a0)"), std::string::npos);
  EXPECT_TRUE(page.ends_with("</html>\n"));
}

}  // namespace
}  // namespace hs
