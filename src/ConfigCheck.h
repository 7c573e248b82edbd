// Checks of a parsed Config against the system, shared by start-up, -t and reload. Paths are made
// absolute (so --daemon's chdir and later reloads see the same files), then what the processes
// will meet is tried as the user who will meet it: the document root as the workers' user; each
// log file as the master, which creates it or appends to it, and as the workers, who reopen it by
// path after a rotation.
#pragma once

#include <string>
#include <vector>

#include "Config.h"
#include "Privileges.h"

namespace hs {

// Makes the paths in *cfg absolute; with --daemon and no --error-log, the error log becomes
// `daemonErrorLog` (a daemon has no terminal to write to).
void prepareConfig(Config* cfg, const std::string& daemonErrorLog);

// One line per problem, each naming the path and what to do; empty when all is well. Changes
// nothing on disk. The workers' part runs in a child process that has dropped to `workers`: every
// root and alias directory read, every htpasswd file read, every log directory reached. Lines
// that do not stop the server (conflicting server names) go to *warnings when it is not null.
std::vector<std::string> checkConfig(const Config& cfg, const Privileges& workers,
                                     std::vector<std::string>* warnings = nullptr);

}  // namespace hs
