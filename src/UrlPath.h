// Turns a request-target into a safe path relative to the document root. Pure code.
#pragma once

#include <cstddef>
#include <string_view>

namespace hs {

struct UrlPathResult {
  int status = 0;                // 0 ok; otherwise the HTTP status to answer (400 or 404)
  size_t len = 0;                // length of the path written to `out` (no leading '/', no NUL)
  bool trailingSlash = false;    // the decoded path ended in '/' (or was "/")
  const char* reason = nullptr;  // why it was refused (for the error log), when status != 0
};

// Accepts origin-form ("/a/b?q") and absolute-form ("http://host/a/b?q") targets. Drops the query
// (and a fragment if any), percent-decodes exactly once, resolves "." and ".." segments as RFC 3986
// 5.2.4 does (".." never climbs above the root), and collapses repeated '/'. Writes the result,
// relative to the root ("" for the root itself, "dir/file.html" otherwise), to out[0..cap).
// Refuses with 400: a malformed %-escape, an encoded '/' (%2F) or NUL (%00), a raw NUL or '\\', a
// target that is neither origin- nor absolute-form, or a result longer than `cap`. Refuses with
// 404: any segment starting with '.' (hidden files such as .htpasswd or .git/) except
// ".well-known". When `parts` is given, the target's split is reported there too, so that nothing
// parses it again: the raw path as sent (still percent-encoded; "/" for an absolute-form target
// without one) and the query after '?' (without a fragment); both views into `target`, left empty
// for a target that is neither origin- nor absolute-form.
struct TargetParts {
  std::string_view rawPath;
  std::string_view query;
};
UrlPathResult normalizeTarget(std::string_view target, char* out, size_t cap,
                              TargetParts* parts = nullptr);

// nginx's $uri, the path that locations match (../shared/ROUTING.md): the target's path before
// the first '?', percent-decoded once, slashes merged, then "." and ".." resolved (clamped at the
// root), with its leading '/' and any trailing '/'. A decoded '?', '#', '%' or '\\' is an ordinary
// byte; hidden segments are ordinary too (the file layer refuses them). Writes it NUL-terminated
// (for regexec) to out[0..cap) and returns its length (at least 1), or 0 for the cases
// normalizeTarget answers with 400: a malformed or forbidden %-escape (%2F, %00, controls), a
// target that is neither origin- nor absolute-form, or a result that does not fit.
size_t normalizeUri(std::string_view target, char* out, size_t cap);

// Writes `in` to out[0..cap) with the characters that are unsafe in HTML text or attribute values
// escaped (& < > " '). Returns the length written, or cap+1 if it does not fit.
size_t htmlEscape(std::string_view in, char* out, size_t cap);

// Writes `in` percent-encoded for use as a URL path segment (unreserved characters and
// "!$&'()*+,;=:@" kept). Returns the length written, or cap+1 if it does not fit.
size_t urlEncodeSegment(std::string_view in, char* out, size_t cap);

}  // namespace hs
