#include "StaticFileHandler.h"

#include <cstring>

#include "DirectoryListing.h"
#include "FileCache.h"
#include "HttpConditional.h"
#include "HttpLexical.h"
#include "HttpRange.h"
#include "MimeTypes.h"

namespace hs {
namespace {

constexpr size_t kMaxPath = 4096;

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

}  // namespace

StaticFileHandler::StaticFileHandler(const StaticFileOptions& options, FileCache* cache,
                                     const ErrorPages* errors)
    : autoindex_(options.autoindex), boundary_(options.boundary), cache_(cache), errors_(errors) {
  if (options.maxAge >= 0)
    cacheControl_ = "Cache-Control: max-age=" + std::to_string(options.maxAge) + "\r\n";
}

Reply StaticFileHandler::start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) {
  (void)sink;  // always answers at once
  Method m = ctx.req->method;
  if (m == Method::kGet || m == Method::kHead) {
    serve(ctx, plan);
  } else {
    planOtherMethods(ctx, *errors_, plan);
  }
  return Reply::kReady;
}

void StaticFileHandler::serve(const RequestContext& ctx, ResponsePlan& plan) {
  if (ctx.pathStatus != 0) {
    errors_->fill(ctx, ctx.pathStatus, plan);
    return;
  }
  std::string_view path = ctx.path;
  char index[kMaxPath];
  FileEntry* e = cache_->acquire(path, ctx.nowMs);
  if (e->status == 0 && e->isDir) {
    cache_->release(e);
    if (!ctx.trailingSlash) {
      redirectToDirectory(ctx, plan);
      return;
    }
    path = withSuffix(path, path.empty() ? "index.html" : "/index.html", index, sizeof index);
    if (path.empty()) {
      errors_->fill(ctx, 414, plan);
      return;
    }
    e = openIndex(ctx, plan, &path);
    if (e == nullptr) return;
  } else if (e->status == 0 && ctx.trailingSlash) {
    cache_->release(e);
    errors_->fill(ctx, 404, plan);  // "/file.txt/" names a directory that does not exist
    return;
  }
  if (e->status != 0) {
    int status = e->status;
    cache_->release(e);
    errors_->fill(ctx, status, plan);
    return;
  }
  std::string_view encoding;
  bool vary = hasVariant(e, ctx.nowMs);
  if (vary && !ctx.req->header(KnownHeader::kAcceptEncoding).empty()) {
    if (FileEntry* v = findVariant(ctx, path, &encoding)) {
      cache_->release(e);
      e = v;  // described with the original's type (see respondFile)
    }
  }
  respondFile(ctx, plan, e, encoding, vary);
}

// The index file of the directory ctx names (*path is "DIR/index.html"). Returns nullptr when the
// answer is already planned: a listing, or 403 for a directory without an index (as nginx).
FileEntry* StaticFileHandler::openIndex(const RequestContext& ctx, ResponsePlan& plan,
                                        std::string_view* path) {
  FileEntry* e = cache_->acquire(*path, ctx.nowMs);
  if (e->status == 404 && autoindex_) {
    cache_->release(e);
    listDirectory(ctx, plan);
    return nullptr;
  }
  if (e->status == 404 || (e->status == 0 && e->isDir)) {
    cache_->release(e);
    errors_->fill(ctx, 403, plan);
    return nullptr;
  }
  return e;
}

// Whether a precompressed sibling (.br or .gz) exists, remembered on the entry for a second so the
// common request pays one comparison; responses for such a file carry Vary: Accept-Encoding.
bool StaticFileHandler::hasVariant(FileEntry* e, int64_t nowMs) {
  if (e->variantCheckedMs != 0 && nowMs - e->variantCheckedMs < 1000) return e->hasVariant;
  e->hasVariant = false;
  char buf[kMaxPath];
  for (std::string_view suffix : {".br", ".gz"}) {
    std::string_view name = withSuffix(e->path, suffix, buf, sizeof buf);
    if (name.empty()) break;
    FileEntry* v = cache_->acquire(name, nowMs);
    e->hasVariant = e->hasVariant || (v->status == 0 && !v->isDir);
    cache_->release(v);
  }
  e->variantCheckedMs = nowMs > 0 ? nowMs : 1;
  return e->hasVariant;
}

FileEntry* StaticFileHandler::findVariant(const RequestContext& ctx, std::string_view path,
                                          std::string_view* encoding) {
  std::string_view accept = ctx.header(KnownHeader::kAcceptEncoding);
  static constexpr std::string_view kCodings[][2] = {{"br", ".br"}, {"gzip", ".gz"}};
  char buf[kMaxPath];
  for (const auto& coding : kCodings) {
    if (!acceptsCoding(accept, coding[0])) continue;
    std::string_view name = withSuffix(path, coding[1], buf, sizeof buf);
    if (name.empty()) return nullptr;
    FileEntry* v = cache_->acquire(name, ctx.nowMs);
    if (v->status == 0 && !v->isDir) {
      *encoding = coding[0];
      return v;
    }
    cache_->release(v);
  }
  return nullptr;
}

void StaticFileHandler::addValidators(FixedWriter& w, const FileEntry* e, std::string_view encoding,
                                      bool vary) const {
  w.add(e->validatorLines);
  if (!cacheControl_.empty()) w.add(cacheControl_);
  if (!encoding.empty()) w.header("Content-Encoding", encoding);
  if (vary) w.add("Vary: Accept-Encoding\r\n");
}

// Takes over the reference `e`: the plan holds it, or it is released here.
void StaticFileHandler::respondFile(const RequestContext& ctx, ResponsePlan& plan, FileEntry* e,
                                    std::string_view encoding, bool vary) {
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
    cache_->release(e);
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
    cache_->release(e);
    plan.begin(416, ctx.commonHead).add("Content-Range: bytes */").addNum(size).add("\r\n");
    plan.setBody("text/html; charset=utf-8", errorBody(416), ctx.headOnly());
    return;
  }
  bool partial = rr == RangeResult::kSatisfiable;
  FixedWriter& w = plan.begin(cond == 304 ? 304 : partial ? 206 : 200, ctx.commonHead);
  plan.holdFile(cache_, e);
  if (cond == 304) {
    addValidators(w, e, encoding, vary);
  } else if (partial && count == 1) {
    w.header("Content-Type", mime).header("Content-Length", ranges[0].length());
    w.add("Content-Range: bytes ").addNum(ranges[0].first).add("-").addNum(ranges[0].last);
    w.add("/").addNum(e->size).add("\r\nAccept-Ranges: bytes\r\n");
    addValidators(w, e, encoding, vary);
    addBody(ctx, plan, BodyPart{e->data.get(), ranges[0].first, ranges[0].length()});
  } else if (partial) {
    planMultipart(ctx, plan, mime, ranges, count);
    addValidators(w, e, encoding, vary);
  } else {
    if (encoding.empty()) {
      w.add(e->typeLine);
    } else {
      w.header("Content-Type", mime);
    }
    w.header("Content-Length", e->size).add("Accept-Ranges: bytes\r\n");
    addValidators(w, e, encoding, vary);
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

void StaticFileHandler::redirectToDirectory(const RequestContext& ctx, ResponsePlan& plan) {
  FixedWriter& w = plan.begin(301, ctx.commonHead);
  w.add("Location: ").add(ctx.rawPath).add("/");
  if (!ctx.query.empty()) w.add("?").add(ctx.query);
  w.add("\r\n");
  plan.setBody("text/html; charset=utf-8", errorBody(301), ctx.headOnly());
}

void StaticFileHandler::listDirectory(const RequestContext& ctx, ResponsePlan& plan) {
  // The directory is opened beneath the root by the cache; it is listed through that fd.
  FileEntry* dir = cache_->acquire(ctx.path, ctx.nowMs);
  bool listed = dir->status == 0 && dir->isDir &&
                buildDirectoryListing(dir->fd.get(), ctx.path, plan.generated);
  cache_->release(dir);
  if (!listed) {
    errors_->fill(ctx, 403, plan);
    return;
  }
  plan.begin(200, ctx.commonHead);
  plan.setBody("text/html; charset=utf-8", plan.generated, ctx.headOnly());
}

}  // namespace hs
