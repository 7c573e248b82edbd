// The static-file handler: answers GET, HEAD and OPTIONS from the document root through the
// worker's FileCache: directories (redirect, index.html, listing), precompressed variants,
// validators and conditional requests, single and multipart ranges. Synchronous: every request is
// answered at once, with files sent from the cache's memory or by range of the cached fd.
#pragma once

#include <string>
#include <string_view>

#include "ErrorPages.h"
#include "Handler.h"
#include "HttpRange.h"

namespace hs {

class FileCache;
struct FileEntry;

struct StaticFileOptions {
  bool autoindex = false;     // list directories without an index.html
  int maxAge = -1;            // Cache-Control: max-age=N when >= 0
  std::string_view boundary;  // multipart/byteranges boundary (must not occur in the files)
};

class StaticFileHandler final : public Handler {
 public:
  // `cache` and `errors` are borrowed and must outlive the handler.
  StaticFileHandler(const StaticFileOptions& options, FileCache* cache, const ErrorPages* errors);

  Reply start(const RequestContext& ctx, ResponsePlan& plan, ResponseSink& sink) override;

 private:
  void serve(const RequestContext& ctx, ResponsePlan& plan);
  FileEntry* openIndex(const RequestContext& ctx, ResponsePlan& plan, std::string_view* path);
  void respondFile(const RequestContext& ctx, ResponsePlan& plan, FileEntry* e,
                   std::string_view encoding, bool vary);
  void addValidators(FixedWriter& w, const FileEntry* e, std::string_view encoding, bool vary) const;
  void addBody(const RequestContext& ctx, ResponsePlan& plan, BodyPart part);
  void planMultipart(const RequestContext& ctx, ResponsePlan& plan, std::string_view mime,
                     const ByteRange* ranges, int count);
  bool hasVariant(FileEntry* e, int64_t nowMs);
  FileEntry* findVariant(const RequestContext& ctx, std::string_view path,
                         std::string_view* encoding);
  void redirectToDirectory(const RequestContext& ctx, ResponsePlan& plan);
  void listDirectory(const RequestContext& ctx, ResponsePlan& plan);

  bool autoindex_;
  std::string cacheControl_;  // "Cache-Control: max-age=N\r\n" or empty
  std::string boundary_;
  FileCache* cache_;
  const ErrorPages* errors_;
};

}  // namespace hs
