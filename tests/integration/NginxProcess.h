// nginx run beside HttpServer by the comparison tests: one foreground process, no master, with
// everything it writes kept in a test's directory. Skipped by callers when nginx is absent.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace hs::integration {

// The nginx binary, or "" when it is not installed.
std::string findNginx();

class NginxProcess {
 public:
  NginxProcess() = default;
  NginxProcess(const NginxProcess&) = delete;
  NginxProcess& operator=(const NginxProcess&) = delete;
  ~NginxProcess() { stop(); }

  // Starts `binary` with `http` as the body of its http { } block (access_log and the temp paths
  // point into `dir`), and waits until `port` accepts. False if it exited or never listened;
  // dir/stderr.log and dir/error.log say why.
  bool start(const std::string& binary, const std::string& dir, uint16_t port,
             const std::string& http);
  void stop();

 private:
  pid_t pid_ = -1;
};

}  // namespace hs::integration
