#include "StaticFileHandler.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "DirectoryListing.h"
#include "FileCache.h"
#include "FileTask.h"
#include "HttpConditional.h"
#include "HttpLexical.h"
#include "HttpRange.h"
#include "LocationAccess.h"
#include "MimeTypes.h"
#include "RefusalLog.h"
#include "ReturnHandler.h"
#include "Router.h"
#include "Sites.h"
#include "ThreadPool.h"

namespace hs {
namespace {

constexpr size_t kMaxPath = 4096;
constexpr int kMaxRedirects = 10;  // internal redirects per request, as nginx (then 500)

// True when Accept-Encoding lists `coding` (or "*") with a non-zero q-value.
bool acceptsCoding(std::string_view header, std::string_view coding) {
  bool starOk = false;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view name = trimOws(item.substr(0, semi));
    bool zero = false;
    if (semi != std::string_view::npos) {
      std::string_view params = trimOws(item.substr(semi + 1));
      if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
        std::string_view q = trimOws(params.substr(2));
        zero = !q.empty() && q[0] == '0' && q.find_first_of("123456789") == std::string_view::npos;
      }
    }
    if (equalsIgnoreCase(name, coding)) return !zero;
    if (name == "*") starOk = !zero;
  }
  return starOk;
}

// `path` + `suffix` in buf, or an empty view when it does not fit.
std::string_view withSuffix(std::string_view path, std::string_view suffix, char* buf, size_t cap) {
  if (path.size() + suffix.size() > cap) return {};
  std::memcpy(buf, path.data(), path.size());
  std::memcpy(buf + path.size(), suffix.data(), suffix.size());
  return {buf, path.size() + suffix.size()};
}

// a + sep + b in buf, NUL-terminated (routing's regexes need it); "" when it does not fit.
std::string_view joinPath(std::string_view a, std::string_view sep, std::string_view b, char* buf,
                          size_t cap) {
  const size_t n = a.size() + sep.size() + b.size();
  if (n >= cap) return {};
  std::memcpy(buf, a.data(), a.size());
  std::memcpy(buf + a.size(), sep.data(), sep.size());
  std::memcpy(buf + a.size() + sep.size(), b.data(), b.size());
  buf[n] = '\0';
  return {buf, n};
}

// A try_files argument with each $uri replaced by `uri`, cut at a '?' (the query is not part of a
// file's URI), NUL-terminated in buf; "" when it does not fit or does not start with '/'. A '/'
// right after a $uri that ends in '/' is dropped, so "$uri/" for "/" is "/", not "//".
std::string_view expandUri(std::string_view arg, std::string_view uri, char* buf, size_t cap) {
  constexpr std::string_view kVar = "$uri";
  size_t n = 0;
  arg = arg.substr(0, arg.find('?'));
  while (!arg.empty()) {
    std::string_view piece = arg.substr(0, 1);
    if (arg.starts_with(kVar)) {
      piece = uri;
      arg.remove_prefix(kVar.size());
      if (uri.ends_with('/') && arg.starts_with('/')) arg.remove_prefix(1);
    } else {
      arg.remove_prefix(1);
    }
    if (n + piece.size() >= cap) return {};
    std::memcpy(buf + n, piece.data(), piece.size());
    n += piece.size();
  }
  buf[n] = '\0';
  if (n == 0 || buf[0] != '/') return {};
  return {buf, n};
}

}  // namespace

StaticFileHandler::StaticFileHandler(const StaticFileOptions& options, FileCache* cache,
                                     const ErrorPages* errors, const Sites* sites)
    : autoindex_(options.autoindex),
      root_(options.root),
      boundary_(options.boundary),
      cache_(cache),
      errors_(errors),
      sites_(sites) {
  if (options.maxAge >= 0)
    cacheControl_ = "Cache-Control: max-age=" + std::to_string(options.maxAge) + "\r\n";
}

// The connection is found again by slot and generation when a task is done.
Reply StaticFileHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  // Another method may still reach a gateway through try_files or error_page (a front
  // controller's POST); a file answers it with planOtherMethods (serveTarget).
  if (!ctx.getOrHead() && !takesBody(ctx)) {
    planOtherMethods(ctx, *errors_, plan);
    return Reply::kReady;
  }
  return serve(ctx, plan, sink) ? Reply::kReady : Reply::kLater;
}

bool StaticFileHandler::takesBody(const RequestContext& ctx) const {
  return ctx.location != nullptr && sites_ != nullptr && ctx.location->settings.redirectsTakeBody;
}

// X-Accel-Redirect: lookups are made here, not in the pool, since a task's completion serves the
// connection's request again from its own URI (the gateway's).
Reply StaticFileHandler::redirect(const RequestContext& ctx, std::string_view uri,
                                  ResponsePlan& plan, ResponseSink& sink) {
  if (ctx.server == nullptr || sites_ == nullptr) {
    errors_->fill(ctx, 500, plan);
    return Reply::kReady;
  }
  RequestContext sub = ctx;
  sub.asGet = true;
  ThreadPool* pool = pool_;
  pool_ = nullptr;
  waiting_ = handedOff_ = false;
  serveRedirected(sub, plan, sink, uri, {}, 1);
  pool_ = pool;
  return handedOff_ ? Reply::kLater : Reply::kReady;
}

// The probe is installed whether or not its connection still waits: the next request for the path
// finds it cached. A waiting request is served again from the start; it may miss again (an index
// file, a try_files candidate, a precompressed variant) and wait for another task.
void StaticFileHandler::taskDone(PoolTask& task, ResponseSink* sink, int64_t nowMs) {
  FileTask& f = task.as<FileTask>();
  f.cache->install(f.pathView(), &f.probe, nowMs);
  if (sink != nullptr && serve(sink->request(), sink->plan(), *sink)) sink->end();
}

// The entry for `path` in `cache`, with a reference. With a pool, a lookup that would open the
// file goes to the pool instead and returns nullptr (waiting_ is set; the caller plans nothing and
// returns); when the pool is full, or the path does not fit a task, it is done here, as without.
FileEntry* StaticFileHandler::lookup(const RequestContext& ctx, FileCache* cache,
                                     std::string_view path) {
  if (pool_ == nullptr) return cache->acquire(path, ctx.nowMs);
  if (FileEntry* e = cache->tryAcquire(path, ctx.nowMs)) return e;
  PoolTask* task = pool_->acquire();
  if (task == nullptr) return cache->acquire(path, ctx.nowMs);
  if (!prepareFileTask(task, static_cast<Handler*>(this), cache, path, ctx.slot, ctx.generation)) {
    pool_->abandon(task);
    return cache->acquire(path, ctx.nowMs);
  }
  pool_->submit(task);
  waiting_ = true;
  return nullptr;
}

// False when a lookup went to the pool: nothing is planned yet (taskDone() serves it again).
bool StaticFileHandler::serve(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  waiting_ = handedOff_ = false;
  if (ctx.pathStatus != 0) {
    errors_->fill(ctx, ctx.pathStatus, plan);
  } else if (ctx.location == nullptr || sites_ == nullptr) {
    const Target t{cache_, ctx.path,      ctx.trailingSlash, ctx.path, autoindex_,
                   true,   cacheControl_, nullptr,           false,    root_};
    serveTarget(ctx, plan, sink, t, {}, 0);
  } else if (ctx.uri.empty()) {
    errors_->fill(ctx, 400, plan);
  } else {
    serveUri(ctx, plan, sink, *ctx.location, ctx.uri, 0);
  }
  return !waiting_ && !handedOff_;
}

// The URI's file beneath loc's root or alias, or try_files' first candidate that exists.
void StaticFileHandler::serveUri(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                                 const Location& loc, std::string_view uri, int depth) {
  if (!loc.settings.tryFiles.empty()) {
    tryFiles(ctx, plan, sink, loc, uri, depth);
    return;
  }
  char buf[kMaxPath];
  Target t;
  int status = 0;
  if (depth == 0 && uri.data() == ctx.uri.data() && !loc.settings.alias) {
    // The request's own URI under a root: its file is the normalized path, already checked for
    // hidden segments and backslashes, so mapToFile's walk and copy would find what it holds.
    t = targetFor(loc, ctx.path, uri);
  } else if (!mapTarget(loc, uri, buf, sizeof buf, &t, &status)) {
    fail(ctx, plan, sink, status, depth);
    return;
  }
  t.internal = depth > 0;
  serveTarget(ctx, plan, sink, t, uri, depth);
}

// nginx's internal redirect: `uri` is routed again in the request's server, with `query` as its
// arguments; the location it selects answers (its access rules first): a static or `return`
// location here, a gateway location through its handler.
void StaticFileHandler::serveRedirected(const RequestContext& ctx, ResponsePlan& plan,
                                        ResponseSink& sink, std::string_view uri,
                                        std::string_view query, int depth) {
  if (depth > kMaxRedirects) {
    errors_->fill(ctx, 500, plan);  // a loop (nginx: "rewrite or internal redirection cycle")
    return;
  }
  const Location& loc = selectLocation(*ctx.server, uri);
  RequestContext sub = ctx;
  sub.location = &loc;
  sub.uri = uri;
  sub.query = query;
  const LocationSettings& s = loc.settings;
  if (const int refused = checkAccess(s, sub); refused != 0) {
    errors_->fill(sub, refused, plan);
  } else if (s.handler == HandlerKind::kReturn) {
    planReturn(sub, s, *errors_, plan);
  } else if (s.handler != HandlerKind::kStatic) {
    handOff(sub, plan, sink, s.handler);
  } else {
    serveUri(sub, plan, sink, loc, uri, depth);
  }
}

// The request goes on in the handler of `kind` (a gateway), which answers now or through the sink.
void StaticFileHandler::handOff(const RequestContext& sub, ResponsePlan& plan, ResponseSink& sink,
                                HandlerKind kind) {
  Handler* h = byKind_ != nullptr ? byKind_[static_cast<size_t>(kind)] : nullptr;
  if (h == nullptr || h == this) {
    errors_->fill(sub, 500, plan);  // this worker has no such handler
    return;
  }
  sink.handOff(h);
  if (h->start(sub, plan, sink) == Reply::kLater) {
    handedOff_ = true;
    return;
  }
  sink.handOff(this);  // answered at once: the plan is complete
}

// An error status of the static files: the error_page URI for it when that is a gateway
// location's (the front controller's `error_page 404 = /index.php`), else ErrorPages' answer.
void StaticFileHandler::fail(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                             int status, int depth) {
  if (ctx.location != nullptr && ctx.server != nullptr) {
    const LocationSettings& s = ctx.location->settings;
    const auto page = s.errorPages.find(status);
    const HandlerKind kind = page == s.errorPages.end()
                                 ? HandlerKind::kStatic
                                 : selectLocation(*ctx.server, page->second).settings.handler;
    if (kind != HandlerKind::kStatic && kind != HandlerKind::kReturn) {
      RequestContext sub = ctx;
      const auto code = s.errorPageCodes.find(status);
      sub.keepStatus = code == s.errorPageCodes.end() ? status : std::max(code->second, 0);
      serveRedirected(sub, plan, sink, page->second, {}, depth + 1);  // a std::string: NUL-ended
      return;
    }
  }
  errors_->fill(ctx, status, plan);
}

// try_files' last URI's arguments (after its '?', variables expanded) in buf; "" without a '?'.
std::string_view StaticFileHandler::tryFilesQuery(const RequestContext& ctx,
                                                  const LocationSettings& s, std::string_view uri,
                                                  char* buf, size_t cap) const {
  if (!s.tryFilesHasArgs) return {};
  LogFields v;
  v.peer = reinterpret_cast<const sockaddr*>(ctx.peer);
  v.uri = uri;
  v.args = ctx.query;
  v.hasArgs = !ctx.query.empty();
  v.host = ctx.host;
  v.requestUri = ctx.target;
  const size_t n = s.tryFilesArgs.expand(v, buf, cap);
  return n == SIZE_MAX ? std::string_view() : std::string_view(buf, n);
}

// try_files: the first candidate that exists (a file, or a directory for one ending in '/') is
// served in this location; otherwise the last argument: =CODE, or a URI routed again.
void StaticFileHandler::tryFiles(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                                 const Location& loc, std::string_view uri, int depth) {
  const std::vector<std::string>& args = loc.settings.tryFiles;
  char candidate[kMaxPath];
  char mapped[kMaxPath];
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    const std::string_view c = expandUri(args[i], uri, candidate, sizeof candidate);
    Target t;
    int status = 0;
    if (c.empty() || !mapTarget(loc, c, mapped, sizeof mapped, &t, &status)) continue;
    FileEntry* e = lookup(ctx, t.cache, t.path);
    if (e == nullptr) return;
    const bool found = e->status == 0 && e->isDir == t.dirSlash;
    t.cache->release(e);
    if (found) {
      t.internal = depth > 0 || c != ctx.uri;
      serveTarget(ctx, plan, sink, t, c, depth);
      return;
    }
  }
  const std::string& last = args.back();
  if (last.starts_with('=')) {
    int code = 0;  // checked when the configuration was loaded: 200..599
    for (char d : std::string_view(last).substr(1)) code = code * 10 + (d - '0');
    fail(ctx, plan, sink, code, depth);
    return;
  }
  std::string_view next = expandUri(last, uri, candidate, sizeof candidate);
  if (next.empty()) {
    errors_->fill(ctx, 500, plan);
    return;
  }
  char query[kMaxPath];
  serveRedirected(ctx, plan, sink, next, tryFilesQuery(ctx, loc.settings, uri, query, sizeof query),
                  depth + 1);
}

// `uri` mapped through loc's root or alias into buf. False with *status 400/404 when the URI has
// no safe file name.
bool StaticFileHandler::mapTarget(const Location& loc, std::string_view uri, char* buf, size_t cap,
                                  Target* t, int* status) const {
  const FileMapping m = mapToFile(loc, uri, buf, cap);
  if (m.status != 0) {
    *status = m.status;
    return false;
  }
  std::string_view rel = m.rel;
  while (rel.ends_with('/')) rel.remove_suffix(1);
  *t = targetFor(loc, rel, uri);
  return true;
}

StaticFileHandler::Target StaticFileHandler::targetFor(const Location& loc, std::string_view rel,
                                                       std::string_view uri) const {
  const LocationSettings& s = loc.settings;
  return Target{sites_->cache(s.rootId),
                rel,
                uri.ends_with('/'),
                uri.substr(1),
                s.autoindex,
                s.gzipStatic,
                s.successLines,
                &loc,
                false,
                s.root};
}

void StaticFileHandler::serveTarget(const RequestContext& ctx, ResponsePlan& plan,
                                    ResponseSink& sink, const Target& t, std::string_view uri,
                                    int depth) {
  if (!ctx.getOrHead()) {
    planOtherMethods(ctx, *errors_, plan);  // reached by a method files do not answer
    return;
  }
  std::string_view path = t.path;
  char index[kMaxPath];
  FileEntry* e = lookup(ctx, t.cache, path);
  if (e == nullptr) return;
  if (e->status == 0 && e->isDir) {
    t.cache->release(e);
    if (!t.dirSlash) {
      redirectToDirectory(ctx, plan, t);
      return;
    }
    if (t.location != nullptr) {
      serveIndex(ctx, plan, sink, t, uri, depth);
      return;
    }
    path = withSuffix(path, path.empty() ? "index.html" : "/index.html", index, sizeof index);
    if (path.empty()) {
      errors_->fill(ctx, 414, plan);
      return;
    }
    e = openIndex(ctx, plan, t, &path);
    if (e == nullptr) return;
  } else if (e->status == 0 && t.dirSlash) {
    t.cache->release(e);
    fail(ctx, plan, sink, 404, depth);  // "/file.txt/" names a directory that does not exist
    return;
  }
  if (e->status != 0) {
    int status = e->status;
    if (status != 404) {  // permission, a way out of the root, a device, an I/O error
      RefusalDetail d;
      d.kind = e->err != 0 ? Refusal::kOpenFailed : Refusal::kNotRegular;
      d.err = e->err;
      d.root = t.root;
      d.path = path;
      sink.refuse(d);
    }
    t.cache->release(e);
    fail(ctx, plan, sink, status, depth);
    return;
  }
  sendEntry(ctx, plan, t, path, e);
}

// A directory's index files in order: the first that exists is the directory's answer, routed
// again as URI + name (nginx's index module); served here directly when that is this location.
// None: the listing with autoindex, else 403.
void StaticFileHandler::serveIndex(const RequestContext& ctx, ResponsePlan& plan,
                                   ResponseSink& sink, const Target& t, std::string_view uri,
                                   int depth) {
  char path[kMaxPath];
  char next[kMaxPath];
  for (const std::string& name : t.location->settings.index) {
    const std::string_view p = joinPath(t.path, t.path.empty() ? "" : "/", name, path, sizeof path);
    const std::string_view u = joinPath(uri, "", name, next, sizeof next);
    if (p.empty() || u.empty()) {
      errors_->fill(ctx, 414, plan);
      return;
    }
    FileEntry* e = lookup(ctx, t.cache, p);
    if (e == nullptr) return;
    if (e->status == 404) {
      t.cache->release(e);
      continue;
    }
    const Location& loc = selectLocation(*ctx.server, u);
    if (&loc == t.location && e->status == 0 && !e->isDir) {
      Target file = t;
      file.path = p;
      file.dirSlash = false;
      sendEntry(ctx, plan, file, p, e);
      return;
    }
    t.cache->release(e);
    serveRedirected(ctx, plan, sink, u, ctx.query, depth + 1);
    return;
  }
  if (t.autoindex) {
    listDirectory(ctx, plan, t);
  } else {
    errors_->fill(ctx, 403, plan);
  }
}

// Takes over the reference `e` (a regular file at `path`): picks a precompressed variant the
// client accepts, and answers.
void StaticFileHandler::sendEntry(const RequestContext& ctx, ResponsePlan& plan, const Target& t,
                                  std::string_view path, FileEntry* e) {
  std::string_view encoding;
  const bool vary = t.variants && hasVariant(ctx, t.cache, e);
  if (!waiting_ && vary && !ctx.req->header(KnownHeader::kAcceptEncoding).empty()) {
    if (FileEntry* v = findVariant(ctx, t.cache, path, &encoding)) {
      t.cache->release(e);
      e = v;  // described with the original's type (see respondFile)
    }
  }
  if (waiting_) {
    t.cache->release(e);
    return;
  }
  respondFile(ctx, plan, t, e, encoding, vary);
}

// The index file of the directory t names (*path is "DIR/index.html"), without routing. Returns
// nullptr when the answer is already planned: a listing, or 403 for a directory without an index
// (as nginx); or when the lookup went to the pool (waiting_).
FileEntry* StaticFileHandler::openIndex(const RequestContext& ctx, ResponsePlan& plan,
                                        const Target& t, std::string_view* path) {
  FileEntry* e = lookup(ctx, t.cache, *path);
  if (e == nullptr) return nullptr;
  if (e->status == 404 && t.autoindex) {
    t.cache->release(e);
    listDirectory(ctx, plan, t);
    return nullptr;
  }
  if (e->status == 404 || (e->status == 0 && e->isDir)) {
    t.cache->release(e);
    errors_->fill(ctx, 403, plan);
    return nullptr;
  }
  return e;
}

// Whether a precompressed sibling (.br or .gz) exists, remembered on the entry for a second so the
// common request pays one comparison; responses for such a file carry Vary: Accept-Encoding.
// With a pool, a sibling's lookup may go to the pool: the answer is then not known yet (waiting_).
bool StaticFileHandler::hasVariant(const RequestContext& ctx, FileCache* cache, FileEntry* e) {
  const int64_t nowMs = ctx.nowMs;
  if (e->variantCheckedMs != 0 && nowMs - e->variantCheckedMs < 1000) return e->hasVariant;
  bool found = false;
  char buf[kMaxPath];
  for (std::string_view suffix : {".br", ".gz"}) {
    std::string_view name = withSuffix(e->path, suffix, buf, sizeof buf);
    if (name.empty()) break;
    FileEntry* v = lookup(ctx, cache, name);
    if (v == nullptr) return false;
    found = found || (v->status == 0 && !v->isDir);
    cache->release(v);
  }
  e->hasVariant = found;
  e->variantCheckedMs = nowMs > 0 ? nowMs : 1;
  return e->hasVariant;
}

FileEntry* StaticFileHandler::findVariant(const RequestContext& ctx, FileCache* cache,
                                          std::string_view path, std::string_view* encoding) {
  std::string_view accept = ctx.header(KnownHeader::kAcceptEncoding);
  static constexpr std::string_view kCodings[][2] = {{"br", ".br"}, {"gzip", ".gz"}};
  char buf[kMaxPath];
  for (const auto& coding : kCodings) {
    if (!acceptsCoding(accept, coding[0])) continue;
    std::string_view name = withSuffix(path, coding[1], buf, sizeof buf);
    if (name.empty()) return nullptr;
    FileEntry* v = lookup(ctx, cache, name);
    if (v == nullptr) return nullptr;
    if (v->status == 0 && !v->isDir) {
      *encoding = coding[0];
      return v;
    }
    cache->release(v);
  }
  return nullptr;
}

void StaticFileHandler::addValidators(FixedWriter& w, const Target& t, const FileEntry* e,
                                      std::string_view encoding, bool vary) const {
  w.add(e->validatorLines);
  w.add(t.extra);
  if (!encoding.empty()) w.header("Content-Encoding", encoding);
  if (vary) w.add("Vary: Accept-Encoding\r\n");
}

// Takes over the reference `e`: the plan holds it, or it is released here.
void StaticFileHandler::respondFile(const RequestContext& ctx, ResponsePlan& plan, const Target& t,
                                    FileEntry* e, std::string_view encoding, bool vary) {
  // A precompressed variant keeps the type of the file it stands for ("style.css.gz" -> css).
  std::string_view mime = e->mime;
  if (!encoding.empty()) {  // both suffixes (".br", ".gz") are three characters
    mime = mimeTypeFor(std::string_view(e->path).substr(0, e->path.size() - 3));
  }
  Preconditions pre{ctx.header(KnownHeader::kIfMatch), ctx.header(KnownHeader::kIfNoneMatch),
                    ctx.header(KnownHeader::kIfModifiedSince),
                    ctx.header(KnownHeader::kIfUnmodifiedSince)};
  int cond = evaluatePreconditions(pre, e->etag, e->mtime, true);
  if (cond == 412) {
    t.cache->release(e);
    errors_->fill(ctx, 412, plan);
    return;
  }
  ByteRange ranges[kMaxRanges];
  int count = 0;
  RangeResult rr = RangeResult::kIgnore;
  std::string_view rangeHeader = ctx.header(KnownHeader::kRange);
  if (cond != 304 && !rangeHeader.empty()) {
    std::string_view ifRange = ctx.header(KnownHeader::kIfRange);
    if (ifRange.empty() || ifRangeAllows(ifRange, e->etag, e->mtime)) {
      rr = parseRange(rangeHeader, e->size, ranges, kMaxRanges, &count);
    }
  }
  if (rr == RangeResult::kUnsatisfiable) {
    uint64_t size = e->size;
    t.cache->release(e);
    FixedWriter& h = plan.begin(416, ctx.commonHead);
    h.add("Content-Range: bytes */").addNum(size).add("\r\n");
    if (t.location != nullptr) h.add(headerLinesFor(t.location->settings, 416));
    plan.setBody("text/html; charset=utf-8", errorBody(416), ctx.headOnly());
    return;
  }
  bool partial = rr == RangeResult::kSatisfiable;
  FixedWriter& w = plan.begin(cond == 304 ? 304 : partial ? 206 : 200, ctx.commonHead);
  plan.holdFile(t.cache, e);
  if (cond == 304) {
    addValidators(w, t, e, encoding, vary);
  } else if (partial && count == 1) {
    w.header("Content-Type", mime).header("Content-Length", ranges[0].length());
    w.add("Content-Range: bytes ").addNum(ranges[0].first).add("-").addNum(ranges[0].last);
    w.add("/").addNum(e->size).add("\r\nAccept-Ranges: bytes\r\n");
    addValidators(w, t, e, encoding, vary);
    addBody(ctx, plan, BodyPart{e->data.get(), ranges[0].first, ranges[0].length()});
  } else if (partial) {
    planMultipart(ctx, plan, mime, ranges, count);
    addValidators(w, t, e, encoding, vary);
  } else {
    if (encoding.empty()) {
      w.add(e->typeLine);
    } else {
      w.header("Content-Type", mime);
    }
    w.header("Content-Length", e->size).add("Accept-Ranges: bytes\r\n");
    addValidators(w, t, e, encoding, vary);
    if (e->size > 0) addBody(ctx, plan, BodyPart{e->data.get(), 0, e->size});
  }
}

void StaticFileHandler::addBody(const RequestContext& ctx, ResponsePlan& plan, BodyPart part) {
  if (ctx.headOnly()) return;
  plan.add(part);
  plan.bodyBytes += part.len;
}

// multipart/byteranges: the part heads go to the plan's scratch space, each followed by its range
// (from memory or the held file), then the closing boundary.
void StaticFileHandler::planMultipart(const RequestContext& ctx, ResponsePlan& plan,
                                      std::string_view mime, const ByteRange* ranges, int count) {
  const FileEntry* e = plan.file();
  char* scratch = plan.scratch();
  FixedWriter pw(scratch, ResponsePlan::kOutCap / 2);
  BodyPart parts[ResponsePlan::kMaxParts];
  uint32_t np = 0;
  uint64_t total = 0;
  for (int i = 0; i < count; ++i) {
    size_t start = pw.size();
    pw.add(i == 0 ? "--" : "\r\n--").add(boundary_).add("\r\nContent-Type: ").add(mime);
    pw.add("\r\nContent-Range: bytes ").addNum(ranges[i].first).add("-").addNum(ranges[i].last);
    pw.add("/").addNum(e->size).add("\r\n\r\n");
    parts[np++] = BodyPart{scratch, start, pw.size() - start};
    parts[np++] = BodyPart{e->data.get(), ranges[i].first, ranges[i].length()};
    total += pw.size() - start + ranges[i].length();
  }
  size_t start = pw.size();
  pw.add("\r\n--").add(boundary_).add("--\r\n");
  parts[np++] = BodyPart{scratch, start, pw.size() - start};
  total += pw.size() - start;
  FixedWriter& w = plan.head();
  w.add("Content-Type: multipart/byteranges; boundary=").add(boundary_).add("\r\n");
  w.header("Content-Length", total).add("Accept-Ranges: bytes\r\n");
  if (ctx.headOnly()) return;
  for (uint32_t i = 0; i < np; ++i) plan.add(parts[i]);
  plan.bodyBytes = total;
}

void StaticFileHandler::redirectToDirectory(const RequestContext& ctx, ResponsePlan& plan,
                                            const Target& t) {
  FixedWriter& w = plan.begin(301, ctx.commonHead);
  // The request's own path as sent (still percent-encoded); a redirected URI is written decoded.
  if (t.internal) {
    w.add("Location: /").add(t.shown).add("/");
  } else {
    w.add("Location: ").add(ctx.rawPath).add("/");
    if (!ctx.query.empty()) w.add("?").add(ctx.query);
  }
  w.add("\r\n").add(t.extra);
  plan.setBody("text/html; charset=utf-8", errorBody(301), ctx.headOnly());
}

void StaticFileHandler::listDirectory(const RequestContext& ctx, ResponsePlan& plan,
                                      const Target& t) {
  // The directory is opened beneath the root by the cache; it is listed through that fd.
  FileEntry* dir = lookup(ctx, t.cache, t.path);
  if (dir == nullptr) return;
  std::string_view shown = t.shown;
  while (shown.ends_with('/')) shown.remove_suffix(1);
  bool listed =
      dir->status == 0 && dir->isDir && buildDirectoryListing(dir->fd.get(), shown, plan.generated);
  t.cache->release(dir);
  if (!listed) {
    errors_->fill(ctx, 403, plan);
    return;
  }
  plan.begin(200, ctx.commonHead).add(t.extra);
  plan.setBody("text/html; charset=utf-8", plan.generated, ctx.headOnly());
}

}  // namespace hs
