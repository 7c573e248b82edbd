// libFuzzer target for HttpConditional (and through it parseHttpDate). The input is split at NUL
// bytes into a header, an etag, two dates and an If-Range value; properties that must hold for any
// input are checked with abort().
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "HttpConditional.h"
#include "HttpDate.h"

namespace {

void require(bool ok) {
  if (!ok) std::abort();
}

std::string_view nextField(std::string_view* rest) {
  const size_t nul = rest->find('\0');
  const std::string_view field = rest->substr(0, nul);
  rest->remove_prefix(nul == std::string_view::npos ? rest->size() : nul + 1);
  return field;
}

// A single well-formed entity-tag, judged independently of the code under test.
bool isSingleTag(std::string_view s) {
  if (s.substr(0, 2) == "W/") s.remove_prefix(2);
  if (s.size() < 2 || s.front() != '"' || s.back() != '"') return false;
  for (size_t i = 1; i + 1 < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x21 || c == 0x22 || c == 0x7F) return false;
  }
  return true;
}

void checkEtagList(std::string_view header, std::string_view etag) {
  const bool strong = hs::etagListMatches(header, etag, false);
  const bool weak = hs::etagListMatches(header, etag, true);
  require(!strong || weak);  // the strong comparison is the stricter one
  if (header == "*") require(strong && weak);
  if (isSingleTag(header) && isSingleTag(etag)) {
    // Both comparison functions are symmetric for single tags.
    require(hs::etagListMatches(etag, header, false) == strong);
    require(hs::etagListMatches(etag, header, true) == weak);
    require(hs::etagListMatches(header, header, true));
  }
}

void checkPreconditions(std::string_view header, std::string_view etag, std::string_view date1,
                        std::string_view date2, time_t lastModified) {
  const hs::Preconditions all{header, header, date1, date2};
  for (bool getOrHead : {true, false}) {
    const int status = hs::evaluatePreconditions(all, etag, lastModified, getOrHead);
    require(status == 0 || status == 412 || (status == 304 && getOrHead));
  }
  // A request without preconditions always proceeds.
  require(hs::evaluatePreconditions(hs::Preconditions{}, etag, lastModified, true) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view header = nextField(&rest);
  const std::string_view etag = nextField(&rest);
  const std::string_view date1 = nextField(&rest);
  const std::string_view date2 = nextField(&rest);
  const std::string_view ifRange = rest;

  checkEtagList(header, etag);

  time_t lastModified = 784111777;
  if (hs::parseHttpDate(date1, &lastModified)) {
    // A parsed date formats back to the IMF-fixdate form, which parses to the same time.
    char text[hs::kHttpDateLen];
    hs::formatHttpDate(lastModified, text);
    time_t back = 0;
    require(hs::parseHttpDate(std::string_view(text, sizeof text), &back) && back == lastModified);
    if (date1.size() == hs::kHttpDateLen && date1[3] == ',' && date1.substr(23, 2) != "60") {
      require(date1 == std::string_view(text, sizeof text));
    }
  }
  checkPreconditions(header, etag, date1, date2, lastModified);

  const bool allowed = hs::ifRangeAllows(ifRange, etag, lastModified);
  if (allowed && !ifRange.empty() && ifRange.front() == '"') require(ifRange == etag);
  return 0;
}
