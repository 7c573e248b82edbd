#include "DirectoryListing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "HttpDate.h"
#include "UniqueFd.h"
#include "UrlPath.h"

namespace hs {
namespace {

struct Item {
  std::string name;
  bool dir;
  uint64_t size;
  time_t mtime;
};

// The visible entries, directories first, then by name. False if the directory cannot be read.
bool readItems(int dirFd, std::vector<Item>* items) {
  UniqueFd fd(::openat(dirFd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return false;
  fd.release();  // closedir() closes it
  while (dirent* de = ::readdir(d)) {
    if (de->d_name[0] == '.') continue;  // ".", ".." and hidden files are never listed
    struct stat st;
    if (::fstatat(::dirfd(d), de->d_name, &st, 0) != 0) continue;
    items->push_back(
        {de->d_name, S_ISDIR(st.st_mode), static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec});
  }
  ::closedir(d);
  std::sort(items->begin(), items->end(),
            [](const Item& a, const Item& b) { return a.dir != b.dir ? a.dir : a.name < b.name; });
  return true;
}

}  // namespace

bool buildDirectoryListing(int dirFd, std::string_view dirPath, std::string& out) {
  std::vector<Item> items;
  if (!readItems(dirFd, &items)) return false;
  out.clear();
  char esc[1024], enc[1024], date[kHttpDateLen];
  std::string title = "/" + std::string(dirPath) + (dirPath.empty() ? "" : "/");
  size_t n = htmlEscape(title, esc, sizeof esc);
  std::string_view titleEsc(esc, std::min(n, sizeof esc));
  out += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ";
  out += titleEsc;
  out += "</title></head>\n<body><h1>Index of ";
  out += titleEsc;
  out += "</h1><hr><pre><a href=\"../\">../</a>\n";
  for (const Item& it : items) {
    size_t en = urlEncodeSegment(it.name, enc, sizeof enc);
    size_t hn = htmlEscape(it.name, esc, sizeof esc);
    if (en > sizeof enc || hn > sizeof esc) continue;
    formatHttpDate(it.mtime, date);
    out += "<a href=\"";
    out.append(enc, en);
    out += it.dir ? "/\">" : "\">";
    out.append(esc, hn);
    out += it.dir ? "/</a>  " : "</a>  ";
    out.append(date, kHttpDateLen);
    out += "  ";
    out += it.dir ? "-" : std::to_string(it.size);
    out += "\n";
  }
  out += "</pre><hr></body></html>\n";
  return true;
}

}  // namespace hs
