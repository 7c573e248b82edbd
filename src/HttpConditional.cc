// Entity-tag lists and the RFC 9110 13.2.2 evaluation order of the precondition headers.
#include "HttpConditional.h"

#include "HttpDate.h"
#include "HttpLexical.h"

namespace hs {
namespace {

struct EntityTag {
  bool weak = false;
  std::string_view opaque;  // including the quotes
};

// etagc = %x21 / %x23-7E / obs-text: any visible byte but DQUOTE. Note that ',' is allowed, so
// a list cannot be split on commas before the tags are read.
bool isEtagc(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x21 || (u >= 0x23 && u != 0x7F);
}

// entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, read from the front of *s.
bool readEntityTag(std::string_view* s, EntityTag* tag) {
  std::string_view rest = *s;
  tag->weak = rest.substr(0, 2) == "W/";
  if (tag->weak) rest.remove_prefix(2);
  if (rest.empty() || rest[0] != '"') return false;
  size_t i = 1;
  while (i < rest.size() && isEtagc(rest[i])) ++i;
  if (i == rest.size() || rest[i] != '"') return false;
  tag->opaque = rest.substr(0, i + 1);
  s->remove_prefix(static_cast<size_t>(rest.data() - s->data()) + i + 1);
  return true;
}

// Strong comparison needs both tags strong; weak comparison ignores the W/ prefixes (8.8.3.2).
bool tagsMatch(const EntityTag& a, const EntityTag& b, bool weak) {
  return a.opaque == b.opaque && (weak || (!a.weak && !b.weak));
}

// The server's own tag, which should be well-formed; otherwise it is compared verbatim as strong.
EntityTag ownTag(std::string_view etag) {
  EntityTag tag;
  std::string_view rest = etag;
  if (!readEntityTag(&rest, &tag) || !rest.empty()) tag = EntityTag{false, etag};
  return tag;
}

}  // namespace

bool etagListMatches(std::string_view header, std::string_view etag, bool weak) {
  if (header == "*") return true;
  const EntityTag own = ownTag(etag);
  bool matched = false;
  bool sawTag = false;
  // 1#entity-tag with the empty elements RFC 9110 5.6.1.2 tells recipients to accept. The whole
  // list is read even after a match, so that a malformed list matches nothing.
  while (true) {
    header = trimLeadingOws(header);
    if (header.empty()) break;
    if (header.front() == ',') {
      header.remove_prefix(1);
      continue;
    }
    EntityTag tag;
    if (!readEntityTag(&header, &tag)) return false;
    sawTag = true;
    matched = matched || tagsMatch(tag, own, weak);
    header = trimLeadingOws(header);
    if (!header.empty() && header.front() != ',') return false;
  }
  return sawTag && matched;
}

int evaluatePreconditions(const Preconditions& p, std::string_view etag, time_t lastModified,
                          bool isGetOrHead) {
  time_t date = 0;
  // Steps 1-2: If-Unmodified-Since counts only without If-Match.
  if (!p.ifMatch.empty()) {
    if (!etagListMatches(p.ifMatch, etag, false)) return 412;
  } else if (!p.ifUnmodifiedSince.empty() && parseHttpDate(p.ifUnmodifiedSince, &date) &&
             lastModified > date) {
    return 412;
  }
  // Steps 3-4: If-Modified-Since counts only without If-None-Match, and only for GET/HEAD.
  if (!p.ifNoneMatch.empty()) {
    if (etagListMatches(p.ifNoneMatch, etag, true)) return isGetOrHead ? 304 : 412;
  } else if (isGetOrHead && !p.ifModifiedSince.empty() && parseHttpDate(p.ifModifiedSince, &date) &&
             lastModified <= date) {
    return 304;
  }
  return 0;
}

bool ifRangeAllows(std::string_view ifRange, std::string_view etag, time_t lastModified) {
  if (!ifRange.empty() && ifRange.front() == '"') {
    EntityTag tag;
    std::string_view rest = ifRange;
    return readEntityTag(&rest, &tag) && rest.empty() && tagsMatch(tag, ownTag(etag), false);
  }
  // A weak tag never validates a range (13.1.5).
  if (ifRange.substr(0, 2) == "W/") return false;
  time_t date = 0;
  return parseHttpDate(ifRange, &date) && date == lastModified;
}

}  // namespace hs
