// The static-file handler: answers GET, HEAD and OPTIONS from the document root through the
// worker's FileCache: directories (redirect, index files, listing), precompressed variants,
// validators and conditional requests, single and multipart ranges. With routing, the request's
// location decides: root or alias, index (re-routed as nginx's internal redirect), try_files,
// autoindex, gzip_static, max_age and add_header. Files are sent from the cache's memory or by
// range of the cached fd. Synchronous when everything it looks up is cached; with a thread pool, a
// lookup that would open a file becomes a pool task and the request is answered when it is done
// (taskDone), looked up again from the start. An internal redirect into a gateway location
// (try_files' last URI, error_page) hands the request to that location's handler.
#pragma once

#include <string>
#include <string_view>

#include "ErrorPages.h"
#include "Handler.h"
#include "HttpRange.h"
#include "LocationSettings.h"

namespace hs {

class FileCache;
class Sites;
class ThreadPool;
struct FileEntry;
struct Location;

struct StaticFileOptions {
  bool autoindex = false;     // list directories without an index.html
  int maxAge = -1;            // Cache-Control: max-age=N when >= 0
  std::string_view boundary;  // multipart/byteranges boundary (must not occur in the files)
  std::string_view root;      // the document root as configured, for the error log (no location)
};

class StaticFileHandler final : public Handler, public InternalRedirects {
 public:
  // `cache`, `errors` and `sites` are borrowed and must outlive the handler. `options` and `cache`
  // serve requests without a location; `sites` (may be null) holds the caches of every root.
  StaticFileHandler(const StaticFileOptions& options, FileCache* cache, const ErrorPages* errors,
                    const Sites* sites = nullptr);

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;
  void taskDone(PoolTask& task, ResponseSink* sink, int64_t nowMs) override;
  // A level whose try_files or error_page may hand the request to a gateway keeps its body.
  bool takesBody(const RequestContext& ctx) const override;
  // Cache misses become tasks of `pool` (nullptr: looked up inline). Borrowed.
  void usePool(ThreadPool* pool) { pool_ = pool; }
  // The handlers an internal redirect may hand a request to, indexed by HandlerKind (borrowed;
  // without them a redirect into a gateway location answers 500).
  void useHandlers(Handler* const* byKind) { byKind_ = byKind; }
  // X-Accel-Redirect: `uri` answered as a GET from the location it selects (internal ones too).
  Reply redirect(const RequestContext& ctx, std::string_view uri, ResponsePlan& plan,
                 ResponseSink& sink) override;

  // Where a request's file is looked up, and how it is answered.
  struct Target {
    FileCache* cache;
    std::string_view path;   // relative to the root: no leading or trailing '/'
    bool dirSlash;           // the URI named a directory ("/", "/a/")
    std::string_view shown;  // the URI without its leading '/' (listings, redirects)
    bool autoindex;
    bool variants;             // look for .br/.gz siblings
    std::string_view extra;    // Cache-Control and add_header lines for a successful answer
    const Location* location;  // nullptr without routing
    bool internal;             // reached by an internal redirect (the URI is not the request's)
    std::string_view root;     // the root or alias directory `path` is under (for the error log)
  };

 private:
  bool serve(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink);
  FileEntry* lookup(const RequestContext& ctx, FileCache* cache, std::string_view path);
  void serveUri(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                const Location& loc, std::string_view uri, int depth);
  void serveRedirected(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                       std::string_view uri, std::string_view query, int depth);
  void handOff(const RequestContext& sub, ResponsePlan& plan, ResponseSink& sink, HandlerKind kind);
  void fail(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink, int status,
            int depth);
  std::string_view tryFilesQuery(const RequestContext& ctx, const LocationSettings& s,
                                 std::string_view uri, char* buf, size_t cap) const;
  void tryFiles(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                const Location& loc, std::string_view uri, int depth);
  bool mapTarget(const Location& loc, std::string_view uri, char* buf, size_t cap, Target* t,
                 int* status) const;
  // The target for file `rel` (no leading or trailing '/') beneath loc's directory, named by `uri`.
  Target targetFor(const Location& loc, std::string_view rel, std::string_view uri) const;
  void serveTarget(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                   const Target& t, std::string_view uri, int depth);
  void serveIndex(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink,
                  const Target& t, std::string_view uri, int depth);
  FileEntry* openIndex(const RequestContext& ctx, ResponsePlan& plan, const Target& t,
                       std::string_view* path);
  void sendEntry(const RequestContext& ctx, ResponsePlan& plan, const Target& t,
                 std::string_view path, FileEntry* e);
  void respondFile(const RequestContext& ctx, ResponsePlan& plan, const Target& t, FileEntry* e,
                   std::string_view encoding, bool vary);
  void addValidators(FixedWriter& w, const Target& t, const FileEntry* e, std::string_view encoding,
                     bool vary) const;
  void addBody(const RequestContext& ctx, ResponsePlan& plan, BodyPart part);
  void planMultipart(const RequestContext& ctx, ResponsePlan& plan, std::string_view mime,
                     const ByteRange* ranges, int count);
  bool hasVariant(const RequestContext& ctx, FileCache* cache, FileEntry* e);
  FileEntry* findVariant(const RequestContext& ctx, FileCache* cache, std::string_view path,
                         std::string_view* encoding);
  void redirectToDirectory(const RequestContext& ctx, ResponsePlan& plan, const Target& t);
  void listDirectory(const RequestContext& ctx, ResponsePlan& plan, const Target& t);

  bool autoindex_;
  std::string root_;          // StaticFileOptions::root
  std::string cacheControl_;  // "Cache-Control: max-age=N\r\n" or empty
  std::string boundary_;
  FileCache* cache_;
  const ErrorPages* errors_;
  const Sites* sites_;
  ThreadPool* pool_ = nullptr;
  Handler* const* byKind_ = nullptr;
  bool waiting_ = false;    // during serve(): a lookup went to the pool
  bool handedOff_ = false;  // during serve(): an internal redirect gave the request to a gateway
};

}  // namespace hs
