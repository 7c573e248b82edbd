#include "DirListing.h"

#include <algorithm>

#include "PageStyle.h"
#include "UrlPath.h"

namespace hs {
namespace {

constexpr size_t kMaxName = 1024;

// HTML-escapes `s` onto *out, a piece at a time (an entity is at most 6 bytes).
void appendEscaped(std::string* out, std::string_view s) {
  char buf[6 * 256];
  while (!s.empty()) {
    std::string_view piece = s.substr(0, 256);
    out->append(buf, htmlEscape(piece, buf, sizeof buf));
    s.remove_prefix(piece.size());
  }
}

// "2026-11-30 07:35" (UTC): sorts as text and reads at a glance.
void appendTime(std::string* out, time_t t) {
  struct tm tm;
  if (::gmtime_r(&t, &tm) == nullptr) {
    *out += "-";
    return;
  }
  char buf[32];
  size_t n = ::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  out->append(buf, n);
}

void appendRow(std::string* out, const DirEntry& e) {
  char href[3 * kMaxName];
  size_t hn = urlEncodeSegment(e.name, href, sizeof href);
  if (hn > sizeof href || e.name.size() > kMaxName) return;
  *out += "<tr><td><a href=\"";
  appendEscaped(out, {href, hn});  // an encoded URL may still hold '&' or '\''
  *out += e.isDir ? "/\">" : "\">";
  appendEscaped(out, e.name);
  *out += e.isDir ? "/</a></td><td class=\"n\">" : "</a></td><td class=\"n\">";
  *out += e.isDir ? "-" : std::to_string(e.size);
  *out += "</td><td>";
  appendTime(out, e.mtime);
  *out += "</td></tr>\n";
}

}  // namespace

void renderListing(std::string_view dirPath, std::span<DirEntry> entries, std::string* out) {
  std::sort(entries.begin(), entries.end(), [](const DirEntry& a, const DirEntry& b) {
    return a.isDir != b.isDir ? a.isDir : a.name < b.name;
  });
  std::string title = "/";
  title += dirPath;
  if (!dirPath.empty()) title += "/";
  out->clear();
  *out += HS_PAGE_HEAD_OPEN "<title>Index of ";
  appendEscaped(out, title);
  *out += "</title>" HS_PAGE_BODY_OPEN "<h1>Index of ";
  appendEscaped(out, title);
  *out +=
      "</h1>\n<table>\n<tr><th>Name</th><th class=\"n\">Size</th><th>Modified (UTC)</th></tr>\n";
  if (!dirPath.empty()) *out += "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n";
  for (const DirEntry& e : entries) appendRow(out, e);
  *out += "</table>\n" HS_PAGE_CLOSE;
}

}  // namespace hs
