// One client connection and its HTTP state machine, the only code that changes its state:
//   kIdle (keep-alive, nothing buffered) -> kReadingHead -> [kReadingBody] -> [kHandling]
//     -> kWriting -> kIdle | close
// kHandling: an asynchronous handler has the request and has not sent its head yet.
// kLingering: half-closed after the last response, draining input so the close sends no reset.
// The connection reads and parses requests, hands each to the handler HandlerSelector picks,
// decides keep-alive once per response, and sends the ResponsePlan the handler filled. It is the
// ResponseSink of an asynchronous handler and paces it by the client's socket.
// A Connection lives in the worker's SlotPool and is never copied or moved. It owns its client fd.
// While it has work it borrows an IoState (buffers, parser, request, response plan) from the
// worker's pool and gives it back when idle with nothing buffered, so an idle keep-alive connection
// costs only the small Connection object.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

#include "ChunkedDecoder.h"
#include "ConnectionEnv.h"
#include "Handler.h"
#include "HttpParser.h"
#include "ProxyProtocol.h"
#include "ResponsePlan.h"
#include "TimerHeap.h"
#include "UniqueFd.h"

namespace hs {

class AccessRules;

struct IoState {
  static constexpr uint32_t kInCap = 17 * 1024;  // > the 16 KiB head limit, so the parser decides
  static constexpr uint32_t kMaxPath = 4096;
  static constexpr uint32_t kMaxHost = 256;  // a DNS name has at most 253 bytes

  char in[kInCap];
  uint32_t reqStart = 0;  // first byte of the request being handled
  uint32_t inStart = 0;   // first unconsumed byte
  uint32_t inEnd = 0;     // end of received bytes
  ProxyParser proxy;      // the PROXY protocol header, when the listen address expects one
  HttpParser parser;
  HttpRequest req;
  ChunkedDecoder chunked{0};
  uint64_t bodyLeft = 0;   // Content-Length body bytes still to discard
  int64_t startUs = 0;     // when the request's first byte was taken up (monotonicUs)
  uint64_t sentBytes = 0;  // bytes of the current response handed to the kernel
  char path[kMaxPath];     // the normalized target (RequestContext::path)
  char uri[kMaxPath];      // nginx's $uri (RequestContext::uri)
  char host[kMaxHost];     // the normalized host (RequestContext::host)
  RequestContext ctx;
  Handler* selected = nullptr;  // the handler select() chose for the request
  ResponsePlan plan;
  // Small whole responses to pipelined requests, copied here while the next request is already
  // buffered, and sent with the response that finds no more input (one send for many).
  static constexpr uint32_t kOutCap = 16 * 1024;
  uint32_t outLen = 0;   // end of the batched bytes
  uint32_t outSent = 0;  // how many of them the kernel took
  char out[kOutCap];
};

enum class ConnState : uint8_t {
  kFree,
  kIdle,
  kReadingHead,
  kReadingBody,
  kHandling,
  kWriting,
  kLingering
};

class Connection final : public ResponseSink {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Once, when the pool is built: the worker's services and this connection's pool slot.
  void attach(const ConnectionEnv* env, uint32_t slot);
  // Takes a new client socket that arrived on listen address `listenIndex` (RouteConfig::listens).
  // The caller then drive()s it (the request usually came with it).
  void open(int fd, bool lookUpPeer, uint16_t listenIndex = 0);
  // An epoll event for the socket.
  void onEvent(uint32_t events);
  // Runs the state machine until it has to wait for the socket or a handler (or is closed).
  void drive();
  // The timer fired: reschedules a deadline that moved later, or times the connection out.
  void onTimer();
  // The worker began retiring or quitting: an idle connection is handed back or closed.
  void onRetire();
  // For eviction: a stalled response whose client still took >= kMinDrainBytes since it stalled
  // is draining slowly, not attacking; restamps it. False for any other connection.
  bool drainingSinceStall();
  // Closes at once (a reset for a response in flight: its bytes are dropped, not queued).
  void evict();
  void close();

  bool active() const { return state_ != ConnState::kFree; }
  ConnState state() const { return state_; }
  uint32_t generation() const { return generation_; }
  // The asynchronous handler still answering (kHandling, kWriting), or nullptr.
  Handler* asyncHandler() const { return handler_; }
  // The file body's next window is being read by the worker's thread pool (see readyToSend).
  bool diskWaiting() const { return diskWait_; }
  // That read is done: the window is resident; sending goes on.
  void diskReady();
  int fd() const { return fd_.get(); }
  uint16_t listenIndex() const { return listenIndex_; }
  bool registered() const { return registered_; }
  void markRegistered() { registered_ = true; }
  TimerNode* timer() { return &timer_; }
  bool posted() const { return posted_; }
  void clearPosted() { posted_ = false; }

  // ResponseSink, for an asynchronous handler.
  const RequestContext& request() const override { return io_->ctx; }
  ResponsePlan& plan() override { return io_->plan; }
  void sendHead() override;
  bool push(const char* data, size_t len) override;
  void end() override;
  void fail(int status) override;
  void refuse(const RefusalDetail& d) override;
  void handOff(Handler* next) override { handler_ = next; }

 private:
  void setState(ConnState s);
  void setDeadline(int timeoutMs);
  int64_t stamp() const;
  bool acquireIo();
  void releaseIo();
  // drive() without its last act (the batch of pipelined answers leaving).
  void step();
  bool readMore();
  bool processInput();
  bool readProxyHeader();
  void refuseProxy(const char* why);
  const AccessRules& proxyTrust() const;
  bool parseHead();
  bool discardBody();
  bool startBody(uint64_t maxBody);
  bool readBody();
  bool bodyProgress(bool complete);
  void releaseBody();
  void prepareContext();
  void route();
  void dispatch();
  void respondError(int status);
  void refuseTarget();
  void refuseTooLarge(int status, uint64_t limit);
  void startWriting(bool bodyOpen);
  bool awaitingHead() const;
  bool flush();
  ssize_t sendMemoryParts(uint64_t* asked);
  bool batchable(uint64_t bytes) const;
  bool flushBatch();
  bool sendFilePart(const BodyPart& p, uint64_t* asked, ssize_t* sent);
  bool readyToSend(uint64_t off, uint64_t len);
  void blockedWriting();
  bool writeDone();
  void finishResponse();
  void logAccess();
  void logFormatted(AccessLog& log, const LogFormat& format, std::string_view received);
  void goIdle();
  void linger();
  void drainLingering();
  void handBack();
  void abort();
  void post();

  const ConnectionEnv* env_ = nullptr;
  uint32_t slot_ = 0;
  uint64_t serial_ = 0;    // nginx's $connection: this connection's number in the worker
  uint64_t requests_ = 0;  // $connection_requests: requests answered on it so far
  UniqueFd fd_;
  ConnState state_ = ConnState::kFree;
  bool readable_ = false;    // EPOLLIN seen and not yet drained
  bool keepAlive_ = false;   // decided once per response, when its head is ended
  bool closeAfter_ = false;  // the request stream can no longer be trusted: close after answering
  bool registered_ = false;  // in the worker's epoll set
  bool posted_ = false;      // waiting in the worker's posted list
  bool bodyOpen_ = false;    // an asynchronous handler has not ended its body yet
  bool pushed_ = false;      // it pushed since it was last resumed
  bool failed_ = false;      // it failed after its head was sent: close
  bool diskWait_ = false;    // a pool task is reading the file body's next window
  uint32_t generation_ = 0;  // bumped on close, so stale epoll events and posts are recognised
  TimerNode timer_;
  int64_t deadlineMs_ = 0;  // the real deadline; the heap entry may be earlier (lazy update)
  IoState* io_ = nullptr;
  RequestBody* body_ = nullptr;  // the body being buffered for a handler that wants it
  Handler* handler_ = nullptr;   // an asynchronous handler still answering, or nullptr
  uint32_t unackedAtStall_ = 0;  // SIOCOUTQ when a response stalled (see drainingSinceStall)
  uint64_t residentFrom_ = 0;    // the response's file is known to be in memory in
  uint64_t residentUntil_ = 0;   // [residentFrom_, residentUntil_)
  bool proxyPending_ = false;    // the PROXY protocol header has not been read yet
  // The client (sockaddr_in fits too), when looked up: the socket's peer, or the address a PROXY
  // protocol header carried. client_ is the request's: peer_, or what a trusted real_ip_header
  // says.
  sockaddr_in6 peer_{};
  sockaddr_in6 client_{};
  uint16_t listenIndex_ = 0;  // the listen address it arrived on (RequestContext::listenIndex)
};

}  // namespace hs
