// HTTP dates (RFC 9110 5.6.7): IMF-fixdate output, and all three historic formats as input. Pure.
#pragma once

#include <cstddef>
#include <ctime>
#include <string_view>

namespace hs {

constexpr size_t kHttpDateLen = 29;  // "Sun, 06 Nov 1994 08:49:37 GMT"

// Writes exactly kHttpDateLen characters (no NUL) for `t` (UTC) to out.
void formatHttpDate(time_t t, char* out);

// Parses IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime
// ("Sun Nov  6 08:49:37 1994"). Returns false on anything else (then the header is ignored).
bool parseHttpDate(std::string_view s, time_t* out);

}  // namespace hs
