#include "ResponsePlan.h"

#include "FileCache.h"

namespace hs {

FixedWriter& ResponsePlan::begin(int s, std::string_view commonHead) {
  release();
  status = s;
  bodyBytes = 0;
  closeAfter = false;
  head_ = FixedWriter(out_, kOutCap / 2);
  writeStatusLine(head_, s).add(commonHead);
  nparts = 1;  // parts[0] is the head, set when the connection ends it
  return head_;
}

void ResponsePlan::setBody(std::string_view type, std::string_view body, bool headOnly) {
  head_.header("Content-Type", type).header("Content-Length", body.size());
  if (!headOnly && !body.empty()) add(BodyPart{body.data(), 0, body.size()});
  bodyBytes = headOnly ? 0 : body.size();
}

void ResponsePlan::releaseFile() {
  cache_->release(file_);
  file_ = nullptr;
}

}  // namespace hs
