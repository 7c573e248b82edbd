#include "DirectoryListing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <vector>

#include "DirListing.h"
#include "UniqueFd.h"

namespace hs {
namespace {

struct Item {
  std::string name;
  bool dir;
  uint64_t size;
  time_t mtime;
};

// The visible entries, in directory order. False if the directory cannot be read.
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
  return true;
}

}  // namespace

bool buildDirectoryListing(int dirFd, std::string_view dirPath, std::string& out) {
  std::vector<Item> items;
  if (!readItems(dirFd, &items)) return false;
  std::vector<DirEntry> entries;
  entries.reserve(items.size());
  for (const Item& it : items) entries.push_back({it.name, it.dir, it.size, it.mtime});
  renderListing(dirPath, entries, &out);  // sorts: directories first, then by name
  return true;
}

}  // namespace hs
