#include "MimeTypes.h"

#include "HttpLexical.h"

namespace hs {

namespace {

struct MimeEntry {
  std::string_view ext;  // lower case, without the dot
  std::string_view type;
};

constexpr std::string_view kDefaultType = "application/octet-stream";

// A short linear table: a few dozen comparisons that mostly fail on the first byte cost less
// than keeping a sorted table sorted by hand.
constexpr MimeEntry kTypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"txt", "text/plain; charset=utf-8"},
    {"xml", "text/xml; charset=utf-8"},
    {"csv", "text/csv; charset=utf-8"},
    {"md", "text/markdown; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"webp", "image/webp"},
    {"avif", "image/avif"},
    {"ico", "image/x-icon"},
    {"bmp", "image/bmp"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"ttf", "font/ttf"},
    {"otf", "font/otf"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"tar", "application/x-tar"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"ogg", "audio/ogg"},
    {"mp3", "audio/mpeg"},
    {"wav", "audio/wav"},
    {"wasm", "application/wasm"},
    {"webmanifest", "application/manifest+json"},
    {"map", "application/json"},
};

}  // namespace

std::string_view mimeTypeFor(std::string_view path) {
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = name.rfind('.');
  // No dot, or only the leading dot of a hidden file such as ".profile": no extension.
  if (dot == std::string_view::npos || dot == 0) return kDefaultType;
  std::string_view ext = name.substr(dot + 1);
  for (const MimeEntry& e : kTypes) {
    if (equalsLowerCase(ext, e.ext)) return e.type;
  }
  return kDefaultType;
}

}  // namespace hs
