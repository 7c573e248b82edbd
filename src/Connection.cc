// The connection I/O state machine of Worker (see Worker.h): reading, parsing, discarding request
// bodies, sending responses, keep-alive and closing.
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "Channel.h"
#include "Log.h"
#include "Worker.h"

namespace hs {
namespace {
constexpr int kLingerMs = 2000;  // how long a closing connection may keep sending us bytes
constexpr uint64_t kMinDrainBytes = 1024;  // see evictOldest: about 2 KB/s over 500 ms
}  // namespace

void Worker::setState(Connection* c, ConnState s) {
  auto counter = [this](ConnState st) -> std::atomic<uint32_t>* {
    switch (st) {
      case ConnState::kReadingHead:
      case ConnState::kReadingBody: return &stats_->reading;
      case ConnState::kWriting: return &stats_->writing;
      default: return nullptr;
    }
  };
  if (auto* from = counter(c->state)) drop(*from, 1u);
  if (auto* to = counter(s)) bump(*to, 1u);
  // The eviction list orders connections by how long they have been idle, or reading one request:
  // going idle or starting a request restarts the clock; a body continues it.
  if (s == ConnState::kIdle || s == ConnState::kReadingHead) {
    lruRemove(c);
    lruPushBack(c);
  } else if (s != ConnState::kReadingBody) {
    lruRemove(c);
  }
  c->state = s;
}

void Worker::lruRemove(Connection* c) {
  if (!c->inLru) return;
  if (c->lruPrev != Connection::kNoLink) {
    conns_.at(c->lruPrev).lruNext = c->lruNext;
  } else {
    lruHead_ = c->lruNext;
  }
  if (c->lruNext != Connection::kNoLink) {
    conns_.at(c->lruNext).lruPrev = c->lruPrev;
  } else {
    lruTail_ = c->lruPrev;
  }
  c->lruPrev = c->lruNext = Connection::kNoLink;
  c->inLru = false;
  int64_t oldest = lruHead_ == Connection::kNoLink ? 0 : conns_.at(lruHead_).lruSinceMs;
  stats_->oldestEvictableMs.store(oldest, std::memory_order_relaxed);
}

void Worker::lruPushBack(Connection* c) {
  uint32_t i = conns_.index(c);
  c->lruSinceMs = nowMs_ > 0 ? nowMs_ : 1;
  c->lruPrev = lruTail_;
  c->lruNext = Connection::kNoLink;
  if (lruTail_ != Connection::kNoLink) {
    conns_.at(lruTail_).lruNext = i;
  } else {
    lruHead_ = i;
    stats_->oldestEvictableMs.store(c->lruSinceMs, std::memory_order_relaxed);
  }
  lruTail_ = i;
  c->inLru = true;
}

// Makes room for a newcomer when the pool is full (see kEvictAfterMs). Returns false when no
// connection has waited long enough.
bool Worker::evictOldest() {
  Connection* victim = nullptr;
  // A stalled response may be draining slowly all the same: the kernel reports EPOLLOUT only
  // once a third of a large send buffer is free. The client's acknowledgements tell: a response
  // whose client took at least kMinDrainBytes since it stalled (>= 500 ms ago) is moved to the
  // back; one that took less (a slow-read attack trickles a few bytes a second) is evictable.
  for (uint32_t tries = conns_.inUse(); tries > 0 && lruHead_ != Connection::kNoLink; --tries) {
    Connection* c = &conns_.at(lruHead_);
    if (nowMs_ - c->lruSinceMs < kEvictAfterMs) return false;
    int unacked = 0;
    if (c->state == ConnState::kWriting && ::ioctl(c->fd.get(), SIOCOUTQ, &unacked) == 0 &&
        static_cast<uint64_t>(unacked) + kMinDrainBytes <= c->unackedAtStall) {
      c->unackedAtStall = static_cast<uint32_t>(unacked);
      lruRemove(c);
      lruPushBack(c);
      continue;
    }
    victim = c;
    break;
  }
  if (victim == nullptr) return false;
  const char* what = victim->state == ConnState::kIdle      ? "idle"
                     : victim->state == ConnState::kWriting ? "stalled in a response"
                                                            : "reading its request";
  LOG_INFO("pool full: closing the connection %s the longest (%lld ms)", what,
           static_cast<long long>(nowMs_ - victim->lruSinceMs));
  if (victim->state == ConnState::kWriting) {
    abortConnection(victim);
  } else {
    closeConnection(victim);
  }
  return true;
}

// The client stopped taking bytes: wait for EPOLLOUT, bounded by the send timeout. A stalled
// response joins the eviction list, stamped with the time it stalled (progress restamps it).
void Worker::blockedWriting(Connection* c) {
  setDeadline(c, cfg_.sendTimeoutMs);
  int unacked = 0;
  c->unackedAtStall = ::ioctl(c->fd.get(), SIOCOUTQ, &unacked) == 0 ? static_cast<uint32_t>(unacked) : 0;
  lruRemove(c);
  lruPushBack(c);
}

// Closes with a reset (SO_LINGER 0) rather than a FIN: for a connection given up on while it
// still had a response to deliver, the kernel then drops the unsent bytes at once instead of
// holding them for a client that does not read (nginx's reset_timedout_connection).
void Worker::abortConnection(Connection* c) {
  struct ::linger lg{1, 0};
  ::setsockopt(c->fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  closeConnection(c);
}

void Worker::setDeadline(Connection* c, int timeoutMs) {
  int64_t d = nowMs_ + timeoutMs;
  c->deadlineMs = d;
  // Lazy: only move the heap entry earlier; a later deadline is picked up when the entry fires.
  if (!c->timer.active() || c->timer.deadlineMs > d) timers_.schedule(&c->timer, d);
}

bool Worker::acquireIo(Connection* c) {
  if (c->io != nullptr) return true;
  c->io = ios_.acquire();
  if (c->io == nullptr) return false;
  IoState* io = c->io;
  io->reqStart = io->inStart = io->inEnd = 0;
  io->parser.reset();
  io->nparts = io->part = 0;
  return true;
}

void Worker::releaseIo(Connection* c) {
  if (c->io == nullptr) return;
  ios_.release(c->io);
  c->io = nullptr;
}

void Worker::onConnectionEvent(Connection* c, uint32_t events) {
  if ((events & EPOLLERR) != 0) {
    closeConnection(c);
    return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) != 0) c->readable = true;
  drive(c);
}

// Runs the state machine until it has to wait for the socket (or the connection is gone).
void Worker::drive(Connection* c) {
  if (c->state == ConnState::kLingering) {
    drainLingering(c);
    return;
  }
  for (;;) {
    if (c->state == ConnState::kWriting) {
      if (!flush(c)) return;
      finishResponse(c);
      if (!c->active()) return;
      continue;
    }
    if (c->io != nullptr && c->io->inEnd > c->io->inStart) {
      if (!processInput(c)) return;
      if (c->state == ConnState::kWriting) continue;
    }
    if (!c->readable) {
      if (c->state == ConnState::kIdle && c->io != nullptr && c->io->inEnd == c->io->inStart) {
        releaseIo(c);  // idle with nothing buffered: keep only the small Connection
      }
      return;
    }
    if (!readMore(c)) return;
  }
}

// Reads what the socket has. Returns false when the connection was closed or must wait.
bool Worker::readMore(Connection* c) {
  if (!acquireIo(c)) {
    LOG_ERROR("no I/O state available");
    closeConnection(c);
    return false;
  }
  IoState* io = c->io;
  if (io->inEnd == IoState::kInCap) {
    // Only the unconsumed tail matters; move it (and the head being parsed) to the front.
    uint32_t keep = io->reqStart;
    std::memmove(io->in, io->in + keep, io->inEnd - keep);
    io->inEnd -= keep;
    io->inStart -= keep;
    io->reqStart = 0;
    if (io->inEnd == IoState::kInCap) {  // cannot happen: the parser's limits are smaller
      closeConnection(c);
      return false;
    }
  }
  size_t want = IoState::kInCap - io->inEnd;
  ssize_t n = ::recv(c->fd.get(), io->in + io->inEnd, want, 0);  // recv: no VFS layer, unlike read
  if (n > 0) {
    io->inEnd += static_cast<uint32_t>(n);
    // Edge-triggered: a short read means the socket is drained; new data brings a new event.
    if (static_cast<size_t>(n) < want) c->readable = false;
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
    if (errno == EAGAIN) c->readable = false;
    return true;
  }
  closeConnection(c);  // EOF or a reset: nothing more can be answered
  return false;
}

// Consumes buffered input: parses a head or discards body bytes. Returns false if closed.
// The first byte of a request (read now, or pipelined earlier) starts the header timeout.
bool Worker::processInput(Connection* c) {
  if (c->state == ConnState::kIdle) {
    setState(c, ConnState::kReadingHead);
    setDeadline(c, cfg_.headerTimeoutMs);
  }
  if (c->state == ConnState::kReadingHead) return parseHead(c);
  if (c->state == ConnState::kReadingBody) return discardBody(c);
  return true;
}

bool Worker::parseHead(Connection* c) {
  IoState* io = c->io;
  HttpRequest& req = io->req;
  ParseStatus st = io->parser.parse(io->in + io->reqStart, io->inEnd - io->reqStart, &req);
  if (st == ParseStatus::kNeedMore) {
    io->inStart = io->inEnd;
    return true;
  }
  if (st == ParseStatus::kError) {
    c->closeAfter = true;  // the stream is out of sync: answer, then close
    io->inStart = io->inEnd;
    respondError(c, io->parser.errorStatus());
    return true;
  }
  io->inStart = io->reqStart + static_cast<uint32_t>(io->parser.consumed());
  c->closeAfter = false;
  if (req.contentLength > 0 || req.chunked) {
    if (req.contentLength > 0 && static_cast<uint64_t>(req.contentLength) > cfg_.maxBody) {
      c->closeAfter = true;  // not worth reading: answer 413 and close
      respondError(c, 413);
      return true;
    }
    if (req.expectContinue && req.versionMinor >= 1) {
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      ssize_t ignored = ::send(c->fd.get(), kContinue, sizeof kContinue - 1, MSG_NOSIGNAL);
      (void)ignored;  // best effort: a client that misses it sends the body after a delay anyway
    }
    io->bodyLeft = req.chunked ? 0 : static_cast<uint64_t>(req.contentLength);
    io->chunked = ChunkedDecoder(cfg_.maxBody);
    setState(c, ConnState::kReadingBody);
    return discardBody(c);
  }
  respond(c);
  return true;
}

// Request bodies are read and thrown away (a static server has no use for them) so the next
// pipelined request starts at the right byte.
bool Worker::discardBody(Connection* c) {
  IoState* io = c->io;
  uint32_t avail = io->inEnd - io->inStart;
  bool complete = false;
  if (io->req.chunked) {
    size_t used = 0;
    ChunkedDecoder::Status st = io->chunked.feed(io->in + io->inStart, avail, &used);
    io->inStart += static_cast<uint32_t>(used);
    if (st == ChunkedDecoder::Status::kError) {
      c->closeAfter = true;
      respondError(c, io->chunked.errorStatus());
      return true;
    }
    complete = st == ChunkedDecoder::Status::kDone;
  } else {
    uint64_t take = std::min<uint64_t>(avail, io->bodyLeft);
    io->inStart += static_cast<uint32_t>(take);
    io->bodyLeft -= take;
    complete = io->bodyLeft == 0;
  }
  if (!complete) {
    // Everything buffered after the head was body and is consumed: reuse that space.
    uint32_t headEnd = io->reqStart + static_cast<uint32_t>(io->parser.consumed());
    io->inStart = io->inEnd = headEnd;
    setDeadline(c, cfg_.headerTimeoutMs);
    return true;
  }
  respond(c);
  return true;
}

// Sends the pending response parts. Returns true when everything is sent; false when waiting for
// EPOLLOUT or when the connection was closed.
bool Worker::flush(Connection* c) {
  IoState* io = c->io;
  while (io->part < io->nparts) {
    BodyPart& p = io->parts[io->part];
    ssize_t n;
    uint64_t asked = 0;
    if (p.mem != nullptr) {
      // Gather this and the following memory parts into one writev.
      iovec iov[8];
      int k = 0;
      for (uint32_t i = io->part; i < io->nparts && k < 8 && io->parts[i].mem != nullptr; ++i, ++k) {
        uint64_t skip = i == io->part ? io->partSent : 0;
        iov[k].iov_base = const_cast<char*>(io->parts[i].mem + io->parts[i].off + skip);
        iov[k].iov_len = io->parts[i].len - skip;
        asked += iov[k].iov_len;
      }
      bool fileFollows = io->part + static_cast<uint32_t>(k) < io->nparts;
      msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = static_cast<size_t>(k);
      // MSG_MORE: the head and a sendfile body leave in full segments; and on a connection that
      // closes after this response (finishResponse shuts it down or closes it next, nothing in
      // between), the last segment waits for the FIN and leaves with it: one packet, not two.
      const int flags = MSG_NOSIGNAL | (fileFollows || !c->keepAlive ? MSG_MORE : 0);
      n = k == 1 ? ::send(c->fd.get(), iov[0].iov_base, iov[0].iov_len, flags)
                 : ::sendmsg(c->fd.get(), &mh, flags);
    } else {
      off_t off = static_cast<off_t>(p.off + io->partSent);
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(p.len - io->partSent, 1u << 30));
      asked = chunk;
      n = ::sendfile(c->fd.get(), c->file->fd.get(), &off, chunk);
      if (n == 0) {  // the file shrank under us: the promised length cannot be kept
        LOG_WARN("file \"%s\" changed while being sent; connection closed", c->file->path.c_str());
        closeConnection(c);
        return false;
      }
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        blockedWriting(c);
        return false;
      }
      closeConnection(c);
      return false;
    }
    // Account the bytes over the parts they covered.
    auto left = static_cast<uint64_t>(n);
    while (left > 0 && io->part < io->nparts) {
      BodyPart& q = io->parts[io->part];
      uint64_t rest = q.len - io->partSent;
      if (left >= rest) {
        left -= rest;
        ++io->part;
        io->partSent = 0;
      } else {
        io->partSent += left;
        left = 0;
      }
    }
    if (io->part < io->nparts) {
      c->deadlineMs = nowMs_ + cfg_.sendTimeoutMs;  // progress
      // A short write means the socket buffer is full: the next try would only get EAGAIN.
      // Edge-triggered EPOLLOUT fires once there is room again.
      if (static_cast<uint64_t>(n) < asked) {
        blockedWriting(c);
        return false;
      }
    }
  }
  return true;
}

void Worker::finishResponse(Connection* c) {
  IoState* io = c->io;
  bump(stats_->requests, uint64_t{1});
  if (accessLog_.enabled()) {
    const std::string_view received(io->in + io->reqStart, io->inEnd - io->reqStart);
    accessLog_.record(
        AccessRecord::fromRequest(&c->peer, received, io->req, c->status, c->bodyBytes), nowSec_);
  }
  if (c->file != nullptr) {
    cache_->release(c->file);
    c->file = nullptr;
  }
  if (!c->keepAlive) {
    if (c->readable || io->inStart != io->inEnd) {
      linger(c);
    } else {
      closeConnection(c);
    }
    return;
  }
  goIdle(c);
}

void Worker::goIdle(Connection* c) {
  IoState* io = c->io;
  io->nparts = io->part = 0;
  io->partSent = 0;
  io->parser.reset();
  io->req = HttpRequest();
  if (io->inStart == io->inEnd) {
    io->reqStart = io->inStart = io->inEnd = 0;
  } else {
    io->reqStart = io->inStart;  // a pipelined request is already buffered
  }
  setState(c, ConnState::kIdle);
  if (mode_ == Mode::kQuitting && io->inStart == io->inEnd) {
    setDeadline(c, kQuitIdleGraceMs);  // see Worker::beginRetire
    return;
  }
  if (mode_ == Mode::kRetiring && io->inStart == io->inEnd) {
    handBack(c);
    return;
  }
  setDeadline(c, cfg_.keepaliveTimeoutMs);
}

// Closing a socket with unread input makes the kernel send a reset, which can destroy the response
// still in flight (e.g. a 413 while the client is still sending its body). So, as nginx does:
// half-close, then read and discard for a bounded time, and close at EOF or when time is up.
void Worker::linger(Connection* c) {
  ::shutdown(c->fd.get(), SHUT_WR);
  releaseIo(c);
  setState(c, ConnState::kLingering);
  setDeadline(c, kLingerMs);
  drainLingering(c);
}

void Worker::drainLingering(Connection* c) {
  char sink[4096];
  for (;;) {
    ssize_t n = ::recv(c->fd.get(), sink, sizeof sink, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      c->readable = false;
      return;
    }
    closeConnection(c);  // EOF or an error: the client has seen everything we sent
    return;
  }
}

void Worker::handBack(Connection* c) {
  int fd = c->fd.get();
  // The master will hold the socket after our close, which would leave it in our epoll set
  // (registrations last until every fd of the socket is closed): remove it explicitly.
  if (c->registered) loop_.remove(fd);
  if (channelSend(channel_.get(), ChannelMsg::kHandback, &fd, 1) != 0) {
    LOG_DEBUG("hand-back failed; closing the idle connection");
  }
  closeConnection(c);  // our copy; the master now holds the connection
}

void Worker::closeConnection(Connection* c) {
  if (c->file != nullptr) {
    cache_->release(c->file);
    c->file = nullptr;
  }
  releaseIo(c);
  timers_.cancel(&c->timer);
  setState(c, ConnState::kFree);
  c->fd.reset();  // closing the fd also removes it from the epoll set
  c->readable = false;
  ++c->generation;
  conns_.release(c);
  drop(stats_->live, 1u);
  if (wasFull_) {
    wasFull_ = false;
    channelSend(channel_.get(), ChannelMsg::kSlotFree, nullptr, 0);
  }
}

}  // namespace hs
