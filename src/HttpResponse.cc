#include "HttpResponse.h"

#include "PageStyle.h"

namespace hs {

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "";
  }
}

std::string_view errorBody(int status) {
#define HS_ERROR_PAGE(code, text)                                                  \
  case code:                                                                       \
    return HS_PAGE_HEAD_OPEN "<title>" #code " " text "</title>" HS_PAGE_BODY_OPEN \
                             "<p class=\"code\">" #code "</p><h1>" text "</h1>" HS_PAGE_CLOSE;
  switch (status) {
    HS_ERROR_PAGE(301, "Moved Permanently")
    HS_ERROR_PAGE(302, "Found")
    HS_ERROR_PAGE(303, "See Other")
    HS_ERROR_PAGE(307, "Temporary Redirect")
    HS_ERROR_PAGE(308, "Permanent Redirect")
    HS_ERROR_PAGE(400, "Bad Request")
    HS_ERROR_PAGE(401, "Unauthorized")
    HS_ERROR_PAGE(403, "Forbidden")
    HS_ERROR_PAGE(404, "Not Found")
    HS_ERROR_PAGE(405, "Method Not Allowed")
    HS_ERROR_PAGE(408, "Request Timeout")
    HS_ERROR_PAGE(411, "Length Required")
    HS_ERROR_PAGE(412, "Precondition Failed")
    HS_ERROR_PAGE(413, "Content Too Large")
    HS_ERROR_PAGE(414, "URI Too Long")
    HS_ERROR_PAGE(416, "Range Not Satisfiable")
    HS_ERROR_PAGE(417, "Expectation Failed")
    HS_ERROR_PAGE(431, "Request Header Fields Too Large")
    HS_ERROR_PAGE(501, "Not Implemented")
    HS_ERROR_PAGE(503, "Service Unavailable")
    HS_ERROR_PAGE(505, "HTTP Version Not Supported")
    HS_ERROR_PAGE(500, "Internal Server Error")
    default:
      return HS_PAGE_HEAD_OPEN "<title>Error</title>" HS_PAGE_BODY_OPEN
                               "<h1>Error</h1>" HS_PAGE_CLOSE;
  }
#undef HS_ERROR_PAGE
}

FixedWriter& writeStatusLine(FixedWriter& w, int status) {
  switch (status) {  // the common ones as one copy each
    case 200:
      return w.add("HTTP/1.1 200 OK\r\n");
    case 304:
      return w.add("HTTP/1.1 304 Not Modified\r\n");
    case 404:
      return w.add("HTTP/1.1 404 Not Found\r\n");
    default:
      break;
  }
  w.add("HTTP/1.1 ").addNum(static_cast<uint64_t>(status)).add(" ");
  std::string_view reason = reasonPhrase(status);
  return w.add(reason.empty() ? "Unknown" : reason).add("\r\n");
}

}  // namespace hs
