#include "ProcTitle.h"

#include <sys/prctl.h>

#include <algorithm>
#include <cstring>

namespace hs {
namespace {
char* gArea = nullptr;
size_t gAreaLen = 0;
}  // namespace

void initProcTitle(int argc, char** argv) {
  if (argc == 0) return;
  gArea = argv[0];
  // Only the contiguous argv strings are used (not environ), so nothing else is disturbed.
  char* end = argv[0] + std::strlen(argv[0]) + 1;
  for (int i = 1; i < argc && argv[i] == end; ++i) end = argv[i] + std::strlen(argv[i]) + 1;
  gAreaLen = static_cast<size_t>(end - gArea);
}

void setProcTitle(const char* title, const char* shortName) {
  ::prctl(PR_SET_NAME, shortName, 0, 0, 0);
  if (gArea == nullptr || gAreaLen < 2) return;
  size_t n = std::min(std::strlen(title), gAreaLen - 1);
  std::memcpy(gArea, title, n);
  std::memset(gArea + n, 0, gAreaLen - n);
}

}  // namespace hs
