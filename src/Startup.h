// Checks of a parsed Config against the system, shared by start-up and reload: paths made
// absolute (so --daemon's chdir and later reloads see the same files) and the root checked.
#pragma once

#include <string>

#include "Config.h"

namespace hs {

// Returns "" when *cfg is usable, else a one-line reason saying what to do.
std::string prepareConfig(Config* cfg);

}  // namespace hs
