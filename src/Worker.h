// A worker process: one epoll reactor serving the connections the master passes over its channel.
// Owns its EventLoop, TimerHeap, connection pool, I/O-state pool and file cache.
// The class's code is split by concern: Worker.cc (reactor, channel, timers, lifecycle),
// Connection.cc (the connection I/O state machine) and Responder.cc (what to answer a request).
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "AccessLog.h"
#include "Config.h"
#include "Connection.h"
#include "ConnectionPool.h"
#include "EventLoop.h"
#include "FileCache.h"
#include "HttpDate.h"
#include "HttpResponse.h"
#include "Privileges.h"
#include "SharedState.h"
#include "TimerHeap.h"
#include "UniqueFd.h"

namespace hs {

class Worker {
 public:
  // On a graceful stop, an idle keep-alive connection is closed once it has been idle this long.
  static constexpr int64_t kQuitIdleGraceMs = 300;

  // `channel` is the worker's end of its channel; `stats` its shared counters slot.
  Worker(const Config& cfg, UniqueFd channel, SharedState* shared, WorkerStats* stats,
         const Privileges& privileges);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Runs until told to stop. Returns the process exit status.
  int run();

 private:
  enum class Mode : uint8_t { kServing, kRetiring, kQuitting };

  // Worker.cc
  bool setup();
  void updateClock();
  void onChannel();
  void onSignal();
  void adopt(int fd);
  void expireTimers();
  int nextTimeoutMs() const;
  void beginRetire(Mode mode);
  bool done() const;

  // Connection.cc
  void onConnectionEvent(Connection* c, uint32_t events);
  void drive(Connection* c);
  bool readMore(Connection* c);
  bool processInput(Connection* c);
  bool parseHead(Connection* c);
  bool discardBody(Connection* c);
  bool flush(Connection* c);
  void finishResponse(Connection* c);
  void goIdle(Connection* c);
  void closeConnection(Connection* c);
  void linger(Connection* c);
  void drainLingering(Connection* c);
  void handBack(Connection* c);
  void setDeadline(Connection* c, int timeoutMs);
  bool acquireIo(Connection* c);
  void releaseIo(Connection* c);
  void setState(Connection* c, ConnState s);
  void lruRemove(Connection* c);
  void lruPushBack(Connection* c);
  bool evictOldest();
  void blockedWriting(Connection* c);
  void abortConnection(Connection* c);

  // Responder.cc
  void respond(Connection* c);
  void respondError(Connection* c, int status);
  void respondFile(Connection* c, FileEntry* e, std::string_view encoding, bool vary);
  bool hasVariant(FileEntry* e);
  void respondRedirect(Connection* c, std::string_view location, std::string_view query);
  void respondOptions(Connection* c);
  void respondStatus(Connection* c);
  bool respondAutoindex(Connection* c, std::string_view dirPath);
  void writeCommonHead(Connection* c, HeadWriter& w, int status);
  void finishHead(Connection* c, HeadWriter& w);
  void finishWithBody(Connection* c, HeadWriter& w, std::string_view type, std::string_view body);
  std::string_view requestHeader(Connection* c, KnownHeader h) const;
  FileEntry* findVariant(Connection* c, std::string_view path, std::string_view* encoding);

  const Config& cfg_;
  Privileges privileges_;
  UniqueFd channel_;
  UniqueFd signalFd_;
  UniqueFd rootFd_;
  SharedState* shared_;
  WorkerStats* stats_;
  EventLoop loop_;
  TimerHeap timers_;
  SlotPool<Connection> conns_;
  FreeListPool<IoState> ios_;
  FileCache* cache_ = nullptr;
  AccessLog accessLog_;
  Mode mode_ = Mode::kServing;
  bool wasFull_ = false;
  uint32_t lruHead_ = Connection::kNoLink;  // the eviction list, oldest first
  uint32_t lruTail_ = Connection::kNoLink;
  bool stop_ = false;
  int64_t nowMs_ = 0;
  int64_t quitDeadlineMs_ = 0;
  time_t dateSecond_ = 0;
  char serverDate_[64];  // "Server: ...\r\nDate: ...\r\n", rebuilt once a second
  uint32_t serverDateLen_ = 0;
  time_t nowSec_ = 0;
  std::string cacheControl_;  // "Cache-Control: max-age=N\r\n" or empty
  char boundary_[24];         // multipart/byteranges boundary, random per worker
};

}  // namespace hs
