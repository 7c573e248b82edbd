#include "MimeTypes.h"

#include <gtest/gtest.h>

#include <iterator>
#include <string>

namespace hs {
namespace {

struct MimeCase {
  std::string_view path;
  std::string_view type;
};

constexpr std::string_view kOctet = "application/octet-stream";
constexpr std::string_view kHtml = "text/html; charset=utf-8";

void expectTypes(const MimeCase* begin, const MimeCase* end) {
  for (const MimeCase* c = begin; c != end; ++c) {
    SCOPED_TRACE(std::string(c->path));
    EXPECT_EQ(mimeTypeFor(c->path), c->type);
  }
}

TEST(MimeTypesTest, KnowsEveryListedExtension) {
  constexpr MimeCase kCases[] = {
      {"index.html", kHtml},
      {"old.htm", kHtml},
      {"site.css", "text/css; charset=utf-8"},
      {"app.js", "text/javascript; charset=utf-8"},
      {"mod.mjs", "text/javascript; charset=utf-8"},
      {"data.json", "application/json"},
      {"notes.txt", "text/plain; charset=utf-8"},
      {"feed.xml", "text/xml; charset=utf-8"},
      {"table.csv", "text/csv; charset=utf-8"},
      {"README.md", "text/markdown; charset=utf-8"},
      {"logo.svg", "image/svg+xml"},
      {"a.png", "image/png"},
      {"a.jpg", "image/jpeg"},
      {"a.jpeg", "image/jpeg"},
      {"a.gif", "image/gif"},
      {"a.webp", "image/webp"},
      {"a.avif", "image/avif"},
      {"favicon.ico", "image/x-icon"},
      {"a.bmp", "image/bmp"},
      {"f.woff", "font/woff"},
      {"f.woff2", "font/woff2"},
      {"f.ttf", "font/ttf"},
      {"f.otf", "font/otf"},
      {"doc.pdf", "application/pdf"},
      {"a.zip", "application/zip"},
      {"a.gz", "application/gzip"},
      {"a.tar", "application/x-tar"},
      {"v.mp4", "video/mp4"},
      {"v.webm", "video/webm"},
      {"s.ogg", "audio/ogg"},
      {"s.mp3", "audio/mpeg"},
      {"s.wav", "audio/wav"},
      {"m.wasm", "application/wasm"},
      {"site.webmanifest", "application/manifest+json"},
      {"app.js.map", "application/json"},
  };
  expectTypes(std::begin(kCases), std::end(kCases));
}

TEST(MimeTypesTest, MatchesCaseInsensitively) {
  constexpr MimeCase kCases[] = {
      {"INDEX.HTML", kHtml},        {"Index.Html", kHtml},
      {"photo.JPG", "image/jpeg"},  {"photo.JpEg", "image/jpeg"},
      {"font.WOFF2", "font/woff2"}, {"Site.WebManifest", "application/manifest+json"},
  };
  expectTypes(std::begin(kCases), std::end(kCases));
}

TEST(MimeTypesTest, UsesOnlyTheLastExtension) {
  constexpr MimeCase kCases[] = {
      {"a.tar.gz", "application/gzip"},
      {"page.html.bak", kOctet},
      {"archive.gz.html", kHtml},
      {"dir/sub/file.min.js", "text/javascript; charset=utf-8"},
      {"v1.2.3/app.css", "text/css; charset=utf-8"},
  };
  expectTypes(std::begin(kCases), std::end(kCases));
}

TEST(MimeTypesTest, FallsBackToOctetStream) {
  constexpr MimeCase kCases[] = {
      {"", kOctet},           {"Makefile", kOctet},   {"dir/LICENSE", kOctet},
      {"a.b/file", kOctet},   {"a.html/", kOctet},    {".htaccess", kOctet},
      {"dir/.html", kOctet},  {"file.", kOctet},      {"file.unknown", kOctet},
      {"file.htmlx", kOctet}, {"file.htm l", kOctet}, {"file.ht", kOctet},
      {"file.br", kOctet},    {".", kOctet},
  };
  expectTypes(std::begin(kCases), std::end(kCases));
}

// A hidden file that also has an extension is typed by that extension.
TEST(MimeTypesTest, TypesDotFileWithExtension) {
  EXPECT_EQ(mimeTypeFor(".config.json"), "application/json");
  EXPECT_EQ(mimeTypeFor("dir/.eslintrc.js"), "text/javascript; charset=utf-8");
}

}  // namespace
}  // namespace hs
