// Pages a person sees: `make run`'s 404 page, the built-in error pages, directory listings, and
// the status page's own request and names.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "HardenUtil.h"
#include "HttpUtil.h"
#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

// The server command `make run` would run, as words (make -n prints it without running it).
std::vector<std::string> makeRunCommand(uint16_t port) {
  RunResult r = runShell(
      "make -s -n -C " + harden::projectDir() + " run RUN_PORT=" + std::to_string(port), 20000);
  std::vector<std::string> words;
  for (const std::string& line : harden::linesOf(r.out)) {
    if (line.find("HttpServer 127.0.0.1 ") == std::string::npos) continue;
    std::istringstream in(line);
    words.clear();
    for (std::string w; in >> w;) words.push_back(w);
  }
  return words;
}

// Stops a server started outside the harness (its own process group), whatever happens.
struct GroupGuard {
  pid_t pid = -1;
  ~GroupGuard() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    waitFor([&] { return ::waitpid(pid, nullptr, WNOHANG) != 0; }, 3000);
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

TEST(PagesTest, MakeRunAnswersMissingPagesWithTheBundled404) {
  uint16_t port = pickFreePort();
  ASSERT_NE(port, 0);
  std::vector<std::string> cmd = makeRunCommand(port);
  ASSERT_GE(cmd.size(), 5u) << "no server command in `make -n run`";
  // The binary under test stands in for ./HttpServer; the rest are make run's own arguments,
  // relative to the project directory.
  std::vector<std::string> args(cmd.begin() + 1, cmd.end());
  TempDir dir;
  TestFd log(::open((dir.path() + "/server.log").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  GroupGuard server;
  server.pid = ::fork();
  ASSERT_GE(server.pid, 0);
  if (server.pid == 0) {
    if (::chdir(harden::projectDir().c_str()) != 0) ::_exit(126);
    prepareChild(log.get(), log.get());
    execOrDie(serverBinary(), args);
  }
  Response r;
  waitFor(
      [&] {
        r = fetchGet(port, "/no-such-page.html");
        return r.status != 0;
      },
      5000);
  ASSERT_EQ(r.status, 404) << r.error << "\n" << readFile(dir.path() + "/server.log").value_or("");
  EXPECT_EQ(r.body, readFile(siteRoot() + "/404.html").value_or("?"));
}

}  // namespace
}  // namespace hs::integration
