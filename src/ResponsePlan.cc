#include "ResponsePlan.h"

#include "FileCache.h"

namespace hs {

HeadWriter& ResponsePlan::begin(int s, std::string_view commonHead) {
  release();
  status = s;
  bodyBytes = 0;
  closeAfter = false;
  head_ = HeadWriter(out_, kOutCap / 2);
  head_.statusLine(s).add(commonHead);
  nparts = 1;  // parts[0] is the head, set when the connection ends it
  return head_;
}

bool ResponsePlan::add(BodyPart p) {
  if (nparts == kMaxParts) return false;
  parts[nparts++] = p;
  return true;
}

void ResponsePlan::setBody(std::string_view type, std::string_view body, bool headOnly) {
  head_.header("Content-Type", type).header("Content-Length", body.size());
  if (!headOnly && !body.empty()) add(BodyPart{body.data(), 0, body.size()});
  bodyBytes = headOnly ? 0 : body.size();
}

void ResponsePlan::holdFile(FileCache* cache, FileEntry* e) {
  if (file_ != nullptr) cache_->release(file_);
  cache_ = cache;
  file_ = e;
}

void ResponsePlan::release() {
  if (file_ != nullptr) {
    cache_->release(file_);
    file_ = nullptr;
  }
  nparts = part = 0;
  partSent = 0;
}

bool ResponsePlan::appendToHead(const char* data, size_t len) {
  if (head_.size() + len > kOutCap / 2) return false;
  head_.add({data, len});
  return !head_.overflowed();
}

}  // namespace hs
