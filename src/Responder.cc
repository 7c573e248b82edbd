// What Worker answers to a parsed request (see Worker.h): methods, path resolution, files and
// directories, validators and conditional requests, ranges, precompressed variants, redirects,
// error pages. Response heads are built into IoState::out; bodies are BodyParts.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "HttpConditional.h"
#include "HttpRange.h"
#include "Log.h"
#include "MimeTypes.h"
#include "UrlPath.h"
#include "Worker.h"

namespace hs {
namespace {

constexpr size_t kMaxPath = 4096;

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True when Accept-Encoding lists `coding` (or "*") with a non-zero q-value.
bool acceptsCoding(std::string_view header, std::string_view coding) {
  bool starOk = false;
  while (!header.empty()) {
    size_t comma = header.find(',');
    std::string_view item = header.substr(0, comma);
    header = comma == std::string_view::npos ? std::string_view() : header.substr(comma + 1);
    size_t semi = item.find(';');
    std::string_view name = trim(item.substr(0, semi));
    bool zero = false;
    if (semi != std::string_view::npos) {
      std::string_view params = trim(item.substr(semi + 1));
      if (params.size() >= 2 && (params[0] == 'q' || params[0] == 'Q') && params[1] == '=') {
        std::string_view q = trim(params.substr(2));
        zero = !q.empty() && q[0] == '0' && q.find_first_of("123456789") == std::string_view::npos;
      }
    }
    if (equalsNoCase(name, coding)) return !zero;
    if (name == "*") starOk = !zero;
  }
  return starOk;
}

// The raw path of a request-target (what the client sent, still percent-encoded) and its query.
void splitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  if (!target.empty() && target[0] != '/') {  // absolute-form: drop "scheme://authority"
    size_t scheme = target.find("://");
    size_t slash = scheme == std::string_view::npos ? 0 : target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  size_t q = target.find('?');
  *path = target.substr(0, q);
  *query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

}  // namespace

std::string_view Worker::requestHeader(Connection* c, KnownHeader h) const {
  return c->io->req.header(h).in(c->io->in + c->io->reqStart);
}

void Worker::writeCommonHead(Connection* c, HeadWriter& w, int status) {
  c->status = status;
  w.statusLine(status).add({serverDate_, serverDateLen_});
}

// Ends the head, makes it the first part, and switches to writing.
void Worker::finishHead(Connection* c, HeadWriter& w) {
  if (!c->keepAlive) {
    w.add("Connection: close\r\n");
  } else if (c->io->req.versionMinor == 0) {
    w.add("Connection: keep-alive\r\n");
  }
  w.add("\r\n");
  IoState* io = c->io;
  if (w.overflowed()) {  // cannot happen with the limits on what goes into a head
    LOG_ERROR("response head overflow");
    c->keepAlive = false;
    io->nparts = 0;
  }
  // Body parts were placed at parts[1..]; the head is parts[0].
  io->parts[0] = BodyPart{io->out, 0, w.size()};
  // A small body from memory joins the head in its buffer, so the response is one contiguous
  // send() rather than a sendmsg of two pieces. (The upper half of out is for multipart part
  // heads, which come with more than one body part.)
  if (io->nparts == 2 && io->parts[1].mem != nullptr &&
      w.size() + io->parts[1].len <= IoState::kOutCap / 2) {
    std::memmove(io->out + w.size(), io->parts[1].mem + io->parts[1].off, io->parts[1].len);
    io->parts[0].len += io->parts[1].len;
    io->nparts = 1;
  }
  io->part = 0;
  io->partSent = 0;
  setState(c, ConnState::kWriting);
}

// Ends a head whose status line and extra fields are written, with a body that lives in memory
// (built-in pages, listings, the status page): Content-Type, Content-Length, and no body for HEAD.
void Worker::finishWithBody(Connection* c, HeadWriter& w, std::string_view type, std::string_view body) {
  IoState* io = c->io;
  w.header("Content-Type", type).header("Content-Length", body.size());
  bool head = io->req.method == Method::kHead;  // never a body, even on an error that closes
  io->nparts = 1;
  if (!head && !body.empty()) io->parts[io->nparts++] = BodyPart{body.data(), 0, body.size()};
  c->bodyBytes = head ? 0 : body.size();
  finishHead(c, w);
}

void Worker::respond(Connection* c) {
  IoState* io = c->io;
  const HttpRequest& r = io->req;
  c->bodyBytes = 0;
  c->keepAlive = r.keepAlive && !c->closeAfter && mode_ != Mode::kQuitting;
  switch (r.method) {
    case Method::kGet:
    case Method::kHead:
      break;
    case Method::kOptions:
      respondOptions(c);
      return;
    case Method::kUnknown:
      respondError(c, 501);
      return;
    default:
      respondError(c, 405);
      return;
  }
  std::string_view target = r.target.in(io->in + io->reqStart);
  char path[kMaxPath];
  UrlPathResult pr = normalizeTarget(target, path, sizeof path);
  if (pr.status != 0) {
    respondError(c, pr.status);
    return;
  }
  std::string_view rel(path, pr.len);
  if (!cfg_.statusPath.empty() && cfg_.statusPath.size() == rel.size() + 1 &&
      std::string_view(cfg_.statusPath).substr(1) == rel) {
    respondStatus(c);
    return;
  }
  FileEntry* e = cache_->acquire(rel, nowMs_);
  if (e->status == 0 && e->isDir) {
    cache_->release(e);
    std::string_view rawPath, query;
    splitTarget(target, &rawPath, &query);
    if (!pr.trailingSlash) {
      respondRedirect(c, rawPath, query);
      return;
    }
    if (pr.len + 12 > sizeof path) {
      respondError(c, 414);
      return;
    }
    size_t n = pr.len;
    if (n > 0) path[n++] = '/';
    std::memcpy(path + n, "index.html", 10);
    e = cache_->acquire({path, n + 10}, nowMs_);
    if (e->status == 404 && cfg_.autoindex) {
      cache_->release(e);
      if (!respondAutoindex(c, rel)) respondError(c, 403);
      return;
    }
    if (e->status == 404 || (e->status == 0 && e->isDir)) {
      cache_->release(e);
      respondError(c, 403);  // a directory without an index, listing off (as nginx)
      return;
    }
    rel = {path, n + 10};
  } else if (e->status == 0 && pr.trailingSlash) {
    cache_->release(e);
    respondError(c, 404);  // "/file.txt/" names a directory that does not exist
    return;
  }
  if (e->status != 0) {
    int st = e->status;
    cache_->release(e);
    respondError(c, st);
    return;
  }
  std::string_view encoding;
  bool vary = hasVariant(e);
  if (vary && !r.header(KnownHeader::kAcceptEncoding).empty()) {
    if (FileEntry* v = findVariant(c, rel, &encoding)) {
      cache_->release(e);
      e = v;
      // The variant is described with the original's type (see respondFile).
    }
  }
  respondFile(c, e, encoding, vary);
}

// Whether a precompressed sibling (.br or .gz) exists, remembered on the entry for a second so the
// common request pays one comparison; responses for such a file carry Vary: Accept-Encoding.
bool Worker::hasVariant(FileEntry* e) {
  if (e->variantCheckedMs != 0 && nowMs_ - e->variantCheckedMs < 1000) return e->hasVariant;
  e->hasVariant = false;
  char buf[kMaxPath];
  if (e->path.size() + 4 <= sizeof buf) {
    for (std::string_view suffix : {".br", ".gz"}) {
      std::memcpy(buf, e->path.data(), e->path.size());
      std::memcpy(buf + e->path.size(), suffix.data(), suffix.size());
      FileEntry* v = cache_->acquire({buf, e->path.size() + suffix.size()}, nowMs_);
      e->hasVariant = e->hasVariant || (v->status == 0 && !v->isDir);
      cache_->release(v);
    }
  }
  e->variantCheckedMs = nowMs_ > 0 ? nowMs_ : 1;
  return e->hasVariant;
}

FileEntry* Worker::findVariant(Connection* c, std::string_view path, std::string_view* encoding) {
  std::string_view accept = requestHeader(c, KnownHeader::kAcceptEncoding);
  static constexpr std::string_view kCodings[][2] = {{"br", ".br"}, {"gzip", ".gz"}};
  char buf[kMaxPath];
  if (path.size() + 4 > sizeof buf) return nullptr;
  for (const auto& coding : kCodings) {
    if (!acceptsCoding(accept, coding[0])) continue;
    std::memcpy(buf, path.data(), path.size());
    std::memcpy(buf + path.size(), coding[1].data(), coding[1].size());
    FileEntry* v = cache_->acquire({buf, path.size() + coding[1].size()}, nowMs_);
    if (v->status == 0 && !v->isDir) {
      *encoding = coding[0];
      return v;
    }
    cache_->release(v);
  }
  return nullptr;
}

void Worker::respondFile(Connection* c, FileEntry* e, std::string_view encoding, bool vary) {
  IoState* io = c->io;
  const HttpRequest& r = io->req;
  c->file = e;
  // A precompressed variant keeps the type of the file it stands for ("style.css.gz" -> css).
  std::string_view mime = e->mime;
  if (!encoding.empty()) {  // both suffixes (".br", ".gz") are three characters
    mime = mimeTypeFor(std::string_view(e->path).substr(0, e->path.size() - 3));
  }
  Preconditions pre{requestHeader(c, KnownHeader::kIfMatch), requestHeader(c, KnownHeader::kIfNoneMatch),
                    requestHeader(c, KnownHeader::kIfModifiedSince),
                    requestHeader(c, KnownHeader::kIfUnmodifiedSince)};
  int cond = evaluatePreconditions(pre, e->etag, e->mtime, true);
  if (cond == 412) {
    cache_->release(e);
    c->file = nullptr;
    respondError(c, 412);
    return;
  }
  HeadWriter w(io->out, IoState::kOutCap);
  auto validators = [&] {
    w.header("ETag", e->etag).header("Last-Modified", e->lastModified);
    if (!cacheControl_.empty()) w.add(cacheControl_);
    if (!encoding.empty()) w.header("Content-Encoding", encoding);
    if (vary) w.add("Vary: Accept-Encoding\r\n");
  };
  if (cond == 304) {
    writeCommonHead(c, w, 304);
    validators();
    io->nparts = 1;
    finishHead(c, w);
    return;
  }

  ByteRange ranges[kMaxRanges];
  int count = 0;
  RangeResult rr = RangeResult::kIgnore;
  std::string_view rangeHeader = requestHeader(c, KnownHeader::kRange);
  if (!rangeHeader.empty()) {
    std::string_view ifRange = requestHeader(c, KnownHeader::kIfRange);
    if (ifRange.empty() || ifRangeAllows(ifRange, e->etag, e->mtime)) {
      rr = parseRange(rangeHeader, e->size, ranges, kMaxRanges, &count);
    }
  }
  if (rr == RangeResult::kUnsatisfiable) {
    uint64_t size = e->size;
    cache_->release(e);
    c->file = nullptr;
    writeCommonHead(c, w, 416);
    w.add("Content-Range: bytes */").addNum(size).add("\r\n");
    finishWithBody(c, w, "text/html; charset=utf-8", errorBody(416));
    return;
  }
  const char* mem = e->data.get();  // small files are sent from memory in the head's writev
  auto bodyPart = [&](uint64_t off, uint64_t len) {
    return mem != nullptr ? BodyPart{mem, off, len} : BodyPart{nullptr, off, len};
  };
  io->nparts = 1;
  bool head = r.method == Method::kHead;
  if (rr == RangeResult::kSatisfiable && count == 1) {
    writeCommonHead(c, w, 206);
    w.header("Content-Type", mime).header("Content-Length", ranges[0].length());
    w.add("Content-Range: bytes ").addNum(ranges[0].first).add("-").addNum(ranges[0].last);
    w.add("/").addNum(e->size).add("\r\nAccept-Ranges: bytes\r\n");
    validators();
    if (!head) io->parts[io->nparts++] = bodyPart(ranges[0].first, ranges[0].length());
    c->bodyBytes = head ? 0 : ranges[0].length();
  } else if (rr == RangeResult::kSatisfiable) {
    // multipart/byteranges: part heads go after the response head in io->out.
    char* parts = io->out + IoState::kOutCap / 2;
    HeadWriter pw(parts, IoState::kOutCap / 2);
    uint64_t total = 0;
    uint32_t np = 1;
    for (int i = 0; i < count; ++i) {
      size_t start = pw.size();
      pw.add(i == 0 ? "--" : "\r\n--").add(boundary_).add("\r\nContent-Type: ").add(mime);
      pw.add("\r\nContent-Range: bytes ").addNum(ranges[i].first).add("-").addNum(ranges[i].last);
      pw.add("/").addNum(e->size).add("\r\n\r\n");
      io->parts[np++] = BodyPart{parts, start, pw.size() - start};
      io->parts[np++] = bodyPart(ranges[i].first, ranges[i].length());
      total += pw.size() - start + ranges[i].length();
    }
    size_t start = pw.size();
    pw.add("\r\n--").add(boundary_).add("--\r\n");
    io->parts[np++] = BodyPart{parts, start, pw.size() - start};
    total += pw.size() - start;
    writeCommonHead(c, w, 206);
    w.add("Content-Type: multipart/byteranges; boundary=").add(boundary_).add("\r\n");
    w.header("Content-Length", total).add("Accept-Ranges: bytes\r\n");
    validators();
    if (!head) io->nparts = np;
    c->bodyBytes = head ? 0 : total;
  } else {
    writeCommonHead(c, w, 200);
    w.header("Content-Type", mime).header("Content-Length", e->size).add("Accept-Ranges: bytes\r\n");
    validators();
    if (!head && e->size > 0) io->parts[io->nparts++] = bodyPart(0, e->size);
    c->bodyBytes = head ? 0 : e->size;
  }
  finishHead(c, w);
}

void Worker::respondError(Connection* c, int status) {
  IoState* io = c->io;
  if (c->file != nullptr) {
    cache_->release(c->file);
    c->file = nullptr;
  }
  c->keepAlive = io->req.keepAlive && !c->closeAfter && mode_ != Mode::kQuitting;
  HeadWriter w(io->out, IoState::kOutCap);
  writeCommonHead(c, w, status);
  if (status == 405) w.add("Allow: GET, HEAD, OPTIONS\r\n");
  bool head = io->req.method == Method::kHead;  // never a body, even on an error that closes
  io->nparts = 1;
  auto custom = cfg_.errorPages.find(status);
  if (custom != cfg_.errorPages.end()) {
    std::string_view page = custom->second;
    if (!page.empty() && page[0] == '/') page.remove_prefix(1);
    FileEntry* e = cache_->acquire(page, nowMs_);
    if (e->status == 0 && !e->isDir) {
      c->file = e;
      w.header("Content-Type", e->mime).header("Content-Length", e->size);
      if (!head && e->size > 0) {
        io->parts[io->nparts++] =
            e->data ? BodyPart{e->data.get(), 0, e->size} : BodyPart{nullptr, 0, e->size};
      }
      c->bodyBytes = head ? 0 : e->size;
      finishHead(c, w);
      return;
    }
    cache_->release(e);
  }
  finishWithBody(c, w, "text/html; charset=utf-8", errorBody(status));
}

void Worker::respondRedirect(Connection* c, std::string_view location, std::string_view query) {
  IoState* io = c->io;
  HeadWriter w(io->out, IoState::kOutCap);
  writeCommonHead(c, w, 301);
  w.add("Location: ").add(location).add("/");
  if (!query.empty()) w.add("?").add(query);
  w.add("\r\n");
  finishWithBody(c, w, "text/html; charset=utf-8", errorBody(301));
}

void Worker::respondOptions(Connection* c) {
  IoState* io = c->io;
  HeadWriter w(io->out, IoState::kOutCap);
  writeCommonHead(c, w, 200);
  w.add("Allow: GET, HEAD, OPTIONS\r\nContent-Length: 0\r\n");
  io->nparts = 1;
  finishHead(c, w);
}

bool Worker::respondAutoindex(Connection* c, std::string_view dirPath) {
  std::string dir(dirPath);
  // The directory was opened beneath the root by the cache; list it through that fd.
  FileEntry* e = cache_->acquire(dirPath, nowMs_);
  UniqueFd fd;
  if (e->status == 0 && e->isDir) fd.reset(::openat(e->fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  cache_->release(e);
  if (!fd) return false;
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return false;
  fd.release();
  struct Item {
    std::string name;
    bool dir;
    uint64_t size;
    time_t mtime;
  };
  std::vector<Item> items;
  while (dirent* de = ::readdir(d)) {
    if (de->d_name[0] == '.') continue;  // ".", ".." and hidden files are never listed
    struct stat st;
    if (::fstatat(::dirfd(d), de->d_name, &st, 0) != 0) continue;
    items.push_back({de->d_name, S_ISDIR(st.st_mode), static_cast<uint64_t>(st.st_size), st.st_mtim.tv_sec});
  }
  ::closedir(d);
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return a.dir != b.dir ? a.dir : a.name < b.name;
  });
  std::string& out = c->io->generated;
  out.clear();
  char esc[1024], enc[1024], date[kHttpDateLen];
  std::string title = "/" + dir + (dir.empty() ? "" : "/");
  size_t n = htmlEscape(title, esc, sizeof esc);
  std::string_view titleEsc(esc, std::min(n, sizeof esc));
  out += "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of ";
  out += titleEsc;
  out += "</title></head>\n<body><h1>Index of ";
  out += titleEsc;
  out += "</h1><hr><pre><a href=\"../\">../</a>\n";
  for (const Item& it : items) {
    size_t en = urlEncodeSegment(it.name, enc, sizeof enc);
    size_t hn = htmlEscape(it.name, esc, sizeof esc);
    if (en > sizeof enc || hn > sizeof esc) continue;
    formatHttpDate(it.mtime, date);
    out += "<a href=\"";
    out.append(enc, en);
    out += it.dir ? "/\">" : "\">";
    out.append(esc, hn);
    out += it.dir ? "/</a>  " : "</a>  ";
    out.append(date, kHttpDateLen);
    out += "  ";
    out += it.dir ? "-" : std::to_string(it.size);
    out += "\n";
  }
  out += "</pre><hr></body></html>\n";
  HeadWriter w(c->io->out, IoState::kOutCap);
  writeCommonHead(c, w, 200);
  finishWithBody(c, w, "text/html; charset=utf-8", out);
  return true;
}

}  // namespace hs
