// systemd integration without libsystemd: the readiness protocol (NOTIFY_SOCKET, sd_notify) and
// socket activation (LISTEN_PID/LISTEN_FDS, sd_listen_fds). Everything the server knows of
// systemd is here.
#pragma once

#include <vector>

#include "UniqueFd.h"

namespace hs {

// Sends `state` (e.g. "READY=1") to $NOTIFY_SOCKET if set. No-op otherwise.
void notifySystemd(const char* state);

// The listening sockets systemd passed (fds 3..3+LISTEN_FDS-1, when LISTEN_PID is this process),
// made non-blocking and close-on-exec; empty when there are none. Removes both variables.
std::vector<UniqueFd> takeSystemdListeners();

}  // namespace hs
