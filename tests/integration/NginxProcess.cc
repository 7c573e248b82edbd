#include "NginxProcess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {

std::string findNginx() {
  for (const char* p : {"/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

bool NginxProcess::start(const std::string& binary, const std::string& dir, uint16_t port,
                         const std::string& http) {
  const std::string conf = dir + "/nginx.conf";
  writeFile(conf, "daemon off;\nmaster_process off;\nerror_log " + dir + "/error.log;\npid " + dir +
                      "/nginx.pid;\nevents { worker_connections 64; }\nhttp {\n  access_log " +
                      dir + "/access.log combined;\n  client_body_temp_path " + dir +
                      "/body;\n  proxy_temp_path " + dir + "/proxy;\n  fastcgi_temp_path " + dir +
                      "/fastcgi;\n" + http + "}\n");
  const int out = ::open((dir + "/stderr.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  pid_ = ::fork();
  if (pid_ == 0) {
    prepareChild(out, out);
    execOrDie(binary, {"-p", dir, "-e", dir + "/error.log", "-c", conf});
  }
  ::close(out);
  bool exited = false;
  const bool up = waitFor(
      [&] {
        exited = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
        return exited || connectTo(port).valid();
      },
      5000);
  if (exited) pid_ = -1;
  return up && !exited;
}

void NginxProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!waitFor([&] { return ::waitpid(pid_, nullptr, WNOHANG) == pid_; }, 3000)) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

}  // namespace hs::integration
