// Conditional requests (RFC 9110 13): entity-tag lists, and the precedence of the four
// precondition headers (13.2.2). Pure.
#pragma once

#include <ctime>
#include <string_view>

namespace hs {

// True when the If-None-Match / If-Match style list `header` ("*", or `"a", W/"b"`) contains an
// entity-tag matching `etag` (which is given with its quotes, e.g. "\"5f-1a2b\""). `weak` selects
// the weak comparison (If-None-Match) instead of the strong one (If-Match). A malformed list
// matches nothing.
bool etagListMatches(std::string_view header, std::string_view etag, bool weak);

struct Preconditions {
  std::string_view ifMatch, ifNoneMatch, ifModifiedSince, ifUnmodifiedSince;  // empty: absent
};

// Applies RFC 9110 13.2.2 for a GET or HEAD (`isGetOrHead`) of a resource with strong `etag` and
// `lastModified`. Returns 0 (go on and serve), 304 or 412. Unparsable dates are ignored.
int evaluatePreconditions(const Preconditions& p, std::string_view etag, time_t lastModified,
                          bool isGetOrHead);

// If-Range (13.1.5): true when the range may be honoured (the value is the strong etag, or an
// HTTP-date exactly equal to lastModified); false means send the whole representation.
bool ifRangeAllows(std::string_view ifRange, std::string_view etag, time_t lastModified);

}  // namespace hs
