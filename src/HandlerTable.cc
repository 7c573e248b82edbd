#include "HandlerTable.h"

namespace hs {

HandlerTable::HandlerTable(const Config& cfg, FileCache* cache, const SharedState* shared,
                           std::string_view boundary)
    : statusPath_(cfg.statusPath.empty() ? std::string() : cfg.statusPath.substr(1)),
      statusOn_(!cfg.statusPath.empty()),
      metricsPath_(cfg.metricsPath.empty() ? std::string() : cfg.metricsPath.substr(1)),
      metricsOn_(!cfg.metricsPath.empty()),
      errors_(cfg.errorPages, cache),
      static_(StaticFileOptions{cfg.autoindex, cfg.maxAge, boundary}, cache, &errors_),
      status_(shared, cfg.statusAllowRemote, &errors_),
      metrics_(shared, cfg.metricsAllowRemote, &errors_) {}

Handler* HandlerTable::select(RequestContext& ctx) {
  if (statusOn_ && ctx.pathStatus == 0 && ctx.path == statusPath_) return &status_;
  if (metricsOn_ && ctx.pathStatus == 0 && ctx.path == metricsPath_) return &metrics_;
  return &static_;
}

}  // namespace hs
