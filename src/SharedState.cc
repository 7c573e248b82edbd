#include "SharedState.h"

#include <sys/mman.h>

namespace hs {

SharedState* mapSharedState() {
  void* p = ::mmap(nullptr, sizeof(SharedState), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                   -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return new (p) SharedState();  // anonymous mappings are zeroed; placement-new for the atomics
}

}  // namespace hs
