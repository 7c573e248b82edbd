// One worker process as the master sees it: its pid, its end of the channel, its SharedState slot,
// and the connections accepted for it in the current round. Supervisor owns every WorkerProc (one
// unique_ptr each) and its channel; Dispatcher reads them and updates the dispatch fields.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>

#include "Channel.h"
#include "Listeners.h"
#include "UniqueFd.h"

namespace hs {

struct WorkerProc {
  pid_t pid = 0;
  UniqueFd channel;  // the master's end
  int slot = -1;     // index into SharedState::workers
  int index = 0;     // 0..procs-1, stable across respawns
  uint32_t generation = 0;
  bool retiring = false;     // an old generation or a removed index: takes no new connections
  bool channelOpen = false;  // registered in the master's epoll set and usable
  int64_t startedMs = 0;
  // The listen table of the configuration it runs: the listen indexes it hands back index this.
  std::shared_ptr<const ListenTable> listens;
  // Dispatch: its load is live + (sent - taken) + batchLen.
  uint64_t sent = 0;               // fds passed to it, ever
  int batch[kMaxFdsPerMessage]{};  // fds accepted for it in this round, to go in one sendmsg
  uint16_t batchListens[kMaxFdsPerMessage]{};  // the listen index of each
  int batchLen = 0;

  bool takesWork() const { return !retiring && channelOpen; }
};

}  // namespace hs
