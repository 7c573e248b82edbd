// Error responses: the page error_page (or --error-page CODE=/path) names, sent with the original
// status, or else the small built-in HTML page. With routing, the request's location decides: its
// error_page URI is routed again (nginx's internal redirect) to the location that maps it to a
// file, and its add_header ... always lines and auth_basic realm are added. Used by the connection
// (for requests that never reach a handler) and by the handlers.
#pragma once

#include <map>
#include <string>

#include "Handler.h"

namespace hs {

class FileCache;
class Sites;

class ErrorPages {
 public:
  // All are borrowed and must outlive this object. `pages` and `cache` answer requests without a
  // location; `sites` (may be null) the others.
  ErrorPages(const std::map<int, std::string>& pages, FileCache* cache,
             const Sites* sites = nullptr)
      : pages_(pages), cache_(cache), sites_(sites) {}
  // A temporary map would be gone before the first error page is looked up.
  ErrorPages(std::map<int, std::string>&&, FileCache*, const Sites* = nullptr) = delete;

  // Fills `plan` with an error response for `status` to ctx's request (no body for HEAD).
  void fill(const RequestContext& ctx, int status, ResponsePlan& plan) const;

 private:
  void begin(const RequestContext& ctx, int status, ResponsePlan& plan) const;
  bool sendPage(const RequestContext& ctx, std::string_view uri, ResponsePlan& plan) const;

  const std::map<int, std::string>& pages_;
  FileCache* cache_;
  const Sites* sites_;
};

// Answers every method but GET and HEAD for a read-only resource: OPTIONS with 200 and Allow,
// another known method with 405, an unknown one with 501. Returns false for GET and HEAD.
bool planOtherMethods(const RequestContext& ctx, const ErrorPages& errors, ResponsePlan& plan);

// The gate of a monitoring page (status, metrics): planOtherMethods, then 403 for a peer that is
// not loopback unless `allowRemote`. Returns false when the page itself is to be served.
bool planMonitoringGate(const RequestContext& ctx, bool allowRemote, const ErrorPages& errors,
                        ResponsePlan& plan);

}  // namespace hs
