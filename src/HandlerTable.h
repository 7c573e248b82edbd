// The worker's handlers and the rule that picks one for a request: the status path goes to the
// status handler, the metrics path to the metrics handler, everything else to the static-file
// handler. This select() is the single point of routing; server and location selection (with
// per-location configuration in ctx.location) plug in here. Owns the handlers and the error pages
// they share.
#pragma once

#include <string>

#include "Config.h"
#include "ErrorPages.h"
#include "Handler.h"
#include "MetricsHandler.h"
#include "SharedState.h"
#include "StaticFileHandler.h"
#include "StatusHandler.h"

namespace hs {

class FileCache;

class HandlerTable final : public HandlerSelector {
 public:
  // `cfg`, `cache` and `shared` are borrowed and must outlive the table. `boundary` is the
  // multipart/byteranges boundary.
  HandlerTable(const Config& cfg, FileCache* cache, const SharedState* shared,
               std::string_view boundary);
  HandlerTable(const HandlerTable&) = delete;
  HandlerTable& operator=(const HandlerTable&) = delete;

  Handler* select(RequestContext& ctx) override;
  const ErrorPages& errors() const { return errors_; }

 private:
  std::string statusPath_;  // without its leading '/', as ctx.path is; empty: no status page
  bool statusOn_;
  std::string metricsPath_;  // the same for the metrics endpoint
  bool metricsOn_;
  ErrorPages errors_;
  StaticFileHandler static_;
  StatusHandler status_;
  MetricsHandler metrics_;
};

}  // namespace hs
