#include "FcgiUtil.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "FastCgiCodec.h"
#include "TestServer.h"

namespace hs::integration {
namespace {

TestFd connectUnix(const std::string& path) {
  TestFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path.c_str());
  timeval tv{5, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) fd.reset();
  return fd;
}

}  // namespace

FcgiReply fcgiRequest(const std::string& path,
                      const std::vector<std::pair<std::string, std::string>>& params,
                      const std::string& body) {
  FcgiReply r;
  TestFd fd = connectUnix(path);
  if (!fd.valid()) {
    r.error = std::string("connect: ") + std::strerror(errno);
    return r;
  }
  std::string buf(256 * 1024, '\0');
  FastCgiEncoder enc(buf.data(), buf.size(), 1);
  bool built = enc.beginRequest(false);
  for (const auto& [name, value] : params) built = built && enc.param(name, value);
  built = built && enc.endParams() && enc.stdinData(body) && enc.endStdin();
  enc.seal();
  if (!built || !sendAll(fd.get(), std::string_view(enc.data(), enc.size()))) {
    r.error = "sending the request failed";
    return r;
  }
  FastCgiDecoder dec(1);
  char in[16384];
  for (;;) {
    ssize_t n = ::recv(fd.get(), in, sizeof in, 0);
    if (n <= 0) {
      r.error = n == 0 ? "EOF before END_REQUEST" : std::string("recv: ") + std::strerror(errno);
      return r;
    }
    size_t off = 0;
    while (off < static_cast<size_t>(n)) {
      size_t used = 0;
      std::string_view payload;
      auto ev = dec.feed(in + off, static_cast<size_t>(n) - off, &used, &payload);
      off += used;
      if (ev == FastCgiDecoder::Event::kStdout) r.out.append(payload);
      if (ev == FastCgiDecoder::Event::kStderr) r.err.append(payload);
      if (ev == FastCgiDecoder::Event::kError) {
        r.error = "malformed reply";
        return r;
      }
      if (ev == FastCgiDecoder::Event::kEnd) {
        r.ok = true;
        return r;
      }
    }
  }
}

std::vector<std::pair<std::string, std::string>> phpGetParams(const std::string& script,
                                                              const std::string& query) {
  return {{"SCRIPT_FILENAME", script},     {"SCRIPT_NAME", "/x.php"},
          {"REQUEST_METHOD", "GET"},       {"QUERY_STRING", query},
          {"SERVER_PROTOCOL", "HTTP/1.1"}, {"GATEWAY_INTERFACE", "CGI/1.1"},
          {"REDIRECT_STATUS", "200"}};
}

}  // namespace hs::integration
