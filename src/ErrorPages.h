// Error responses: the page configured with --error-page CODE=/path (a file under the root, sent
// with the original status), or else the small built-in HTML page. Used by the connection (for
// requests that never reach a handler) and by the handlers.
#pragma once

#include <map>
#include <string>

#include "Handler.h"

namespace hs {

class FileCache;

class ErrorPages {
 public:
  // Both are borrowed and must outlive this object.
  ErrorPages(const std::map<int, std::string>& pages, FileCache* cache)
      : pages_(pages), cache_(cache) {}

  // Fills `plan` with an error response for `status` to ctx's request (no body for HEAD).
  void fill(const RequestContext& ctx, int status, ResponsePlan& plan) const;

 private:
  const std::map<int, std::string>& pages_;
  FileCache* cache_;
};

// Answers every method but GET and HEAD for a read-only resource: OPTIONS with 200 and Allow,
// another known method with 405, an unknown one with 501. Returns false for GET and HEAD.
bool planOtherMethods(const RequestContext& ctx, const ErrorPages& errors, ResponsePlan& plan);

}  // namespace hs
