// One client connection of a worker and its HTTP state machine:
//   kIdle (keep-alive, nothing buffered) -> kReadingHead -> [kReadingBody] -> kWriting -> kIdle | close
// (kLingering: half-closed after the last response, draining input so the close sends no reset)
// A Connection lives in the worker's SlotPool and is never copied or moved. While it is active it
// borrows an IoState (buffers, parser, response plan) from the worker's FreeListPool, and gives it
// back whenever it goes idle with nothing buffered, so an idle keep-alive connection costs only the
// small Connection object. The Connection owns its client fd.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "ChunkedDecoder.h"
#include "HttpParser.h"
#include "TimerHeap.h"
#include "UniqueFd.h"

namespace hs {

struct FileEntry;

constexpr int kMaxRanges = 16;

// A piece of the response body: bytes in memory, or a range of the response's file.
struct BodyPart {
  const char* mem = nullptr;  // nullptr: file range
  uint64_t off = 0;
  uint64_t len = 0;
};

struct IoState {
  static constexpr uint32_t kInCap = 17 * 1024;  // > the 16 KiB head limit, so the parser decides
  static constexpr uint32_t kOutCap = 8 * 1024;

  char in[kInCap];
  uint32_t reqStart = 0;  // first byte of the request being handled
  uint32_t inStart = 0;   // first unconsumed byte
  uint32_t inEnd = 0;     // end of received bytes
  char out[kOutCap];      // response head, built-in error bodies, multipart part headers
  HttpParser parser;
  HttpRequest req;
  ChunkedDecoder chunked{0};
  uint64_t bodyLeft = 0;  // Content-Length body bytes still to discard
  BodyPart parts[2 * kMaxRanges + 3];
  uint32_t nparts = 0;
  uint32_t part = 0;       // first part not completely sent
  uint64_t partSent = 0;   // bytes of parts[part] already sent
  std::string generated;   // larger generated bodies (autoindex, status); capacity reused
};

enum class ConnState : uint8_t { kFree, kIdle, kReadingHead, kReadingBody, kWriting, kLingering };

struct Connection {
  UniqueFd fd;
  ConnState state = ConnState::kFree;
  bool readable = false;   // EPOLLIN seen and not yet drained
  bool keepAlive = false;  // decided for the current response
  bool closeAfter = false; // stream can no longer be trusted: close after this response
  bool registered = false; // in the worker's epoll set
  uint32_t generation = 0; // bumped on release, so stale epoll events are recognised
  TimerNode timer;
  int64_t deadlineMs = 0;  // the real deadline; the heap entry may be earlier (lazy update)
  IoState* io = nullptr;
  FileEntry* file = nullptr;  // the file being sent (a cache reference)
  int status = 0;             // of the current response (for the access log)
  uint64_t bodyBytes = 0;     // body bytes of the current response
  // Links of the worker's eviction list (idle or reading, oldest first); kNoLink when not in it.
  static constexpr uint32_t kNoLink = UINT32_MAX;
  uint32_t lruPrev = kNoLink, lruNext = kNoLink;
  bool inLru = false;
  int64_t lruSinceMs = 0;
  uint32_t unackedAtStall = 0;  // SIOCOUTQ when a response stalled (see Worker::evictOldest)
  sockaddr_in6 peer{};  // client address (sockaddr_in fits too), when logging or status need it

  bool active() const { return state != ConnState::kFree; }
};

}  // namespace hs
