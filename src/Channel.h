// Master <-> worker channel (nginx sense): an AF_UNIX SOCK_SEQPACKET socketpair carrying small
// fixed messages, optionally with file descriptors attached (SCM_RIGHTS). SEQPACKET keeps each
// message and its fds together. This module does not own the channel fd it is given.
#pragma once

#include <cstddef>
#include <cstdint>

#include "UniqueFd.h"

namespace hs {

enum class ChannelMsg : uint32_t {
  kConnections = 1,  // master -> worker: the attached fds are new client connections
  kRetire = 2,       // master -> worker: take no more work; hand idle keep-alive connections back
  kQuit = 3,         // master -> worker: graceful stop; close idle connections, finish the rest
  kSlotFree = 4,     // worker -> master: a connection closed while the worker was full
  kHandback =
      5,  // worker -> master: the attached fds are idle keep-alive connections to re-dispatch
};

constexpr int kMaxFdsPerMessage = 64;  // well below the kernel's SCM_MAX_FD (253)

// Creates a connected SEQPACKET pair, both ends close-on-exec; [0] for the master, [1] for the
// worker.
bool makeChannel(UniqueFd* masterEnd, UniqueFd* workerEnd);

// Sends one message with `nfds` fds (0..kMaxFdsPerMessage). With each connection goes the index of
// the listen address it arrived on (`listens[i]` for fds[i]; all 0 when `listens` is null), so the
// worker selects the server among those of that address. The message has one fixed size whatever
// it carries. Returns 0, or -errno (EAGAIN when the channel is full, EPIPE/ECONNRESET when the
// peer is gone). Never raises SIGPIPE.
int channelSend(int channel, ChannelMsg msg, const int* fds, int nfds,
                const uint16_t* listens = nullptr);

// Receives one message. Returns 1 with *msg and the received fds in fds[0..*nfds) (each now owned
// by the caller) and, when `listens` is not null, their listen indexes in listens[0..*nfds); 0 at
// EOF, or -errno (EAGAIN when nothing is pending).
int channelRecv(int channel, ChannelMsg* msg, int* fds, int* nfds, uint16_t* listens = nullptr);

}  // namespace hs
