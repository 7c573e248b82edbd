// The routed request path, directive by directive: a block configuration is compiled into Sites
// over a temporary tree, HandlerTable::select picks server, location and handler exactly as a
// worker does, and the chosen handler's answer is rendered. One named case per behaviour.
#include <crypt.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "Config.h"
#include "HandlerHarness.h"
#include "HandlerTable.h"
#include "RouteConfig.h"
#include "Router.h"
#include "Sites.h"
#include "ThreadPool.h"

namespace hs {
namespace {

using test::Answer;
using test::Exchange;

std::string sha512(const char* password) {
  crypt_data data{};
  const char* h = crypt_rn(password, "$6$routingtestsalt$", &data, sizeof data);
  EXPECT_NE(h, nullptr);
  return h != nullptr ? h : "";
}

// The configuration every case runs against; ROOT is the temporary tree.
constexpr const char* kConfig = R"(
root ROOT/site;
server {
  listen 127.0.0.1:8080;
  server_name a.test *.wild.test;
  error_page 404 /404.html;
  location /static/ { max_age 86400; add_header X-Content-Type-Options nosniff; }
  location = /old { return 301 /new; }
  location = /teapot { return 200 'short and stout'; }
  location = /gone { return 410; }
  location ^~ /files/ { alias ROOT/shared/; autoindex on; }
  location /f { alias ROOT/shared/; }
  location /app/ { try_files $uri $uri/ /app/index.html; }
  location /strict/ { try_files $uri =404; }
  location /loop/ { try_files $uri /loop/again; }
  location /admin/ { allow 127.0.0.1; deny all; }
  location /closed/ { deny all; }
  location /secret/ { auth_basic "Admin area"; auth_basic_user_file ROOT/htpasswd; }
  location /list/ { autoindex on; }
  location /nogz/ { gzip_static off; }
  location /always/ { add_header X-A 1 always; add_header X-B 2; }
  location /idx/ { index missing.html other.html; }
  location = /idx/other.html { return 200 'index re-routed'; }
  location /small/ { client_max_body_size 10; }
  location ~ \.secret$ { deny all; }
}
server {
  listen 127.0.0.1:8080;
  server_name b.test;
  root ROOT/b;
  expires 1h;
}
)";

struct Case {
  const char* name;
  std::string request;  // without the final blank line
  bool remote;          // from 192.0.2.1 instead of loopback
  int status;
  std::string body;                 // a substring of the body ("" : anything)
  std::vector<std::string> lines;   // header lines that must be present
  std::vector<std::string> absent;  // header names that must not be
};

class RoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/routing_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    for (const char* d : {"site", "site/static", "site/app", "site/app/sub", "site/admin",
                          "site/closed", "site/secret", "site/list", "site/sub", "site/nogz",
                          "site/always", "site/idx", "site/loop", "site/strict", "shared", "b"}) {
      ASSERT_EQ(::mkdir((root_ + "/" + d).c_str(), 0755), 0) << d;
    }
    write("site/index.html", "home");
    write("site/a.txt", "A");
    write("site/404.html", "custom404");
    write("site/static/s.css", "css");
    write("site/app/index.html", "app shell");
    write("site/app/x.js", "js");
    write("site/app/sub/index.html", "sub index");
    write("site/admin/x.txt", "X");
    write("site/closed/x.txt", "closed");
    write("site/secret/x.txt", "S");
    write("site/list/one.txt", "1");
    write("site/g.txt", "plain");
    write("site/g.txt.gz", "GZ");
    write("site/nogz/g.txt", "plain");
    write("site/nogz/g.txt.gz", "GZ");
    write("site/always/x.txt", "x");
    write("site/idx/other.html", "other");
    write("site/strict/here.txt", "here");
    write("site/k.secret", "k");
    write("shared/f.txt", "F");
    write("b/a.txt", "B-A");
    write("b/index.html", "b home");
    write("htpasswd", "admin:" + sha512("s3cret") + "\n");
    std::string text = kConfig;
    for (size_t at; (at = text.find("ROOT")) != std::string::npos;) text.replace(at, 4, root_);
    std::string err;
    ASSERT_TRUE(parseConfigText(text, root_ + "/test.conf", &cfg_, &err)) << err;
    cfg_.root = root_ + "/site";
    ASSERT_TRUE(sites_.open(cfg_, &err)) << err;
    table_ = std::make_unique<HandlerTable>(cfg_, sites_.cache(0), shared_.get(), "bnd", &sites_);
  }
  void TearDown() override {
    table_.reset();
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }
  void write(const std::string& rel, const std::string& content) {
    std::ofstream out(root_ + "/" + rel, std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good());
  }
  Answer answer(const std::string& raw, bool remote, RequestContext* seen = nullptr) {
    Exchange ex(raw, remote ? test::remotePeer() : test::loopbackPeer(), 1000);
    Handler* h = table_->select(ex.ctx());
    EXPECT_NE(h, nullptr);
    ResponsePlan plan;
    test::NoSink sink;
    EXPECT_EQ(h->start(ex.ctx(), plan, sink), Reply::kReady);
    refusals_ = sink.refusals;
    if (seen != nullptr) *seen = ex.ctx();
    return test::render(plan);
  }
  void run(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
      SCOPED_TRACE(c.name);
      const Answer a = answer(c.request + "\r\n", c.remote);
      EXPECT_EQ(a.status, c.status) << a.head;
      if (!c.body.empty()) {
        EXPECT_NE(a.body.find(c.body), std::string::npos) << a.body;
      }
      for (const std::string& line : c.lines)
        EXPECT_TRUE(a.hasLine(line)) << line << "\n" << a.head;
      for (const std::string& name : c.absent) {
        EXPECT_EQ(a.head.find("\r\n" + name + ":"), std::string::npos) << name << "\n" << a.head;
      }
    }
  }

  std::string root_;
  std::vector<test::NoSink::Refused> refusals_;  // what the last answer() refused
  Config cfg_;
  Sites sites_;
  std::unique_ptr<SharedState> shared_ = std::make_unique<SharedState>();
  std::unique_ptr<HandlerTable> table_;
};

std::string get(const std::string& target, const std::string& host = "a.test",
                const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\n" + extra;
}

TEST_F(RoutingTest, SelectsTheServerByHost) {
  run({
      {"an exact name", get("/a.txt"), false, 200, "A", {}, {}},
      {"the other server's name", get("/a.txt", "b.test"), false, 200, "B-A", {}, {}},
      {"case and port and a trailing dot do not matter",
       get("/a.txt", "B.Test.:8080"),
       false,
       200,
       "B-A",
       {},
       {}},
      {"a leading wildcard", get("/a.txt", "x.wild.test"), false, 200, "A", {}, {}},
      {"an unknown name: the first server", get("/a.txt", "c.test"), false, 200, "A", {}, {}},
      {"HTTP/1.0 without Host: the default server",
       "GET /a.txt HTTP/1.0\r\n",
       false,
       200,
       "A",
       {},
       {}},
      {"absolute-form selects by its own host",
       "GET http://b.test/a.txt HTTP/1.1\r\nHost: a.test\r\n",
       false,
       200,
       "B-A",
       {},
       {}},
      {"an invalid Host is 400 before routing", get("/a.txt", "a..test"), false, 400, "", {}, {}},
      {"a Host that is only a dot", get("/a.txt", "."), false, 400, "", {}, {}},
      {"a Host that is only a port", get("/a.txt", ":8080"), false, 400, "", {}, {}},
  });
}

// With a thread pool and cold caches, each lookup that misses goes to the pool and the request is
// served again from the start when it comes back (try_files candidates, index files, aliases,
// precompressed siblings): the answer is the inline one.
TEST_F(RoutingTest, WithAPoolEveryAnswerIsTheInlineOne) {
  const std::string gz = "Accept-Encoding: gzip\r\n";
  const std::vector<std::string> requests = {
      get("/a.txt"),
      get("/"),
      get("/files/f.txt"),
      get("/files/"),
      get("/f"),
      get("/app/x.js"),
      get("/app/sub/"),
      get("/app/sub"),
      get("/app/deep/link"),
      get("/strict/none"),
      get("/strict/here.txt"),
      get("/loop/x"),
      get("/idx/"),
      get("/list/"),
      get("/g.txt", "a.test", gz),
      get("/nogz/g.txt", "a.test", gz),
      get("/index.html", "b.test"),
      get("/missing.txt"),
  };
  size_t later = 0;
  for (const std::string& raw : requests) {
    SCOPED_TRACE(raw);
    const Answer inlineAnswer = answer(raw + "\r\n", false);
    Sites cold;
    std::string err;
    ASSERT_TRUE(cold.open(cfg_, &err)) << err;
    HandlerTable table(cfg_, cold.cache(0), shared_.get(), "bnd", &cold);
    ThreadPool pool(2, 8);
    table.usePool(&pool);
    Exchange ex(raw + "\r\n", test::loopbackPeer(), 1000);
    Handler* h = table.select(ex.ctx());
    test::LaterSink sink(ex.ctx());
    if (h->start(ex.ctx(), sink.plan(), sink) == Reply::kLater) {
      ++later;
      EXPECT_GE(test::finishWithPool(pool, sink), 1u);
      ASSERT_EQ(sink.ends, 1);
    }
    const Answer pooled = test::render(sink.plan());
    EXPECT_EQ(pooled.status, inlineAnswer.status);
    EXPECT_EQ(pooled.head, inlineAnswer.head);
    EXPECT_EQ(pooled.body, inlineAnswer.body);
    sink.plan().release();
  }
  EXPECT_GE(later, requests.size() - 1) << "cold lookups went to the pool";
}

TEST_F(RoutingTest, RootAliasAndTheirEscapes) {
  run({
      {"root", get("/a.txt"), false, 200, "A", {}, {}},
      {"root of the other server", get("/index.html", "b.test"), false, 200, "b home", {}, {}},
      {"alias", get("/files/f.txt"), false, 200, "F", {}, {}},
      {"alias without a slash", get("/f/f.txt"), false, 200, "F", {}, {}},
      {"alias off-by-slash cannot leave the directory",
       get("/f../etc/passwd"),
       false,
       404,
       "",
       {},
       {}},
      {"alias off-by-slash to a sibling", get("/f../site/a.txt"), false, 404, "", {}, {}},
      {"dot segments are resolved before routing", get("/files/../a.txt"), false, 200, "A", {}, {}},
      {"encoded dots too", get("/files/%2e%2e/%2e%2e/etc/passwd"), false, 404, "", {}, {}},
      {"an alias directory without its slash is redirected",
       get("/f"),
       false,
       301,
       "",
       {"Location: /f/"},
       {}},
      {"a longer URI under a short alias prefix", get("/files"), false, 404, "", {}, {}},
  });
}

// A file the workers will not open is reported for the error log with the path under the root or
// alias that was tried; a missing file is not reported.
TEST_F(RoutingTest, RefusalsNameTheRootOrAliasTried) {
  ASSERT_EQ(::symlink("/etc/hostname", (root_ + "/site/out").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/shared/fifo").c_str(), 0644), 0);
  struct Refusing {
    const char* name;
    std::string request;
    int status;
    bool refused;
    std::string root, path;
  };
  const Refusing cases[] = {
      {"symlink out of the root", get("/out"), 403, true, root_ + "/site", "out"},
      {"a FIFO under an alias", get("/files/fifo"), 403, true, root_ + "/shared", "fifo"},
      {"the same FIFO by the other alias", get("/f/fifo"), 403, true, root_ + "/shared", "fifo"},
      {"missing: not a refusal", get("/files/missing"), 404, false, "", ""},
      {"served: not a refusal", get("/files/f.txt"), 200, false, "", ""},
  };
  for (const Refusing& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(answer(c.request + "\r\n", false).status, c.status);
    ASSERT_EQ(refusals_.size(), c.refused ? 1u : 0u);
    if (!c.refused) continue;
    EXPECT_EQ(refusals_[0].root, c.root);
    EXPECT_EQ(refusals_[0].path, c.path);
  }
}

TEST_F(RoutingTest, IndexAndAutoindex) {
  run({
      {"index.html", get("/"), false, 200, "home", {}, {}},
      {"index list, first that exists, re-routed",
       get("/idx/"),
       false,
       200,
       "index re-routed",
       {},
       {}},
      {"autoindex on a directory without an index", get("/list/"), false, 200, "one.txt", {}, {}},
      {"autoindex on an alias", get("/files/"), false, 200, "f.txt", {}, {}},
      {"no index and no autoindex: 403", get("/sub/"), false, 403, "", {}, {}},
  });
}

TEST_F(RoutingTest, TryFiles) {
  run({
      {"$uri exists", get("/app/x.js"), false, 200, "js", {}, {}},
      {"$uri/ is a directory: its index", get("/app/sub/"), false, 200, "sub index", {}, {}},
      {"$uri/ for a directory named without its slash",
       get("/app/sub"),
       false,
       200,
       "sub index",
       {},
       {}},
      {"the final URI, routed again", get("/app/deep/link"), false, 200, "app shell", {}, {}},
      {"=404, with the server's error_page", get("/strict/none"), false, 404, "custom404", {}, {}},
      {"=404 not taken when the file exists", get("/strict/here.txt"), false, 200, "here", {}, {}},
      {"a redirect loop ends in 500", get("/loop/x"), false, 500, "", {}, {}},
  });
}

TEST_F(RoutingTest, CacheHeadersAndAddHeader) {
  run({
      {"max_age and add_header on a file",
       get("/static/s.css"),
       false,
       200,
       "css",
       {"Cache-Control: max-age=86400", "X-Content-Type-Options: nosniff"},
       {}},
      {"not on another location", get("/a.txt"), false, 200, "", {}, {"Cache-Control"}},
      {"expires 1h inherited from the server",
       get("/a.txt", "b.test"),
       false,
       200,
       "",
       {"Cache-Control: max-age=3600"},
       {}},
      {"add_header without always: not on a 404",
       get("/static/none.css"),
       false,
       404,
       "",
       {},
       {"X-Content-Type-Options", "Cache-Control"}},
      {"both on a 200", get("/always/x.txt"), false, 200, "", {"X-A: 1", "X-B: 2"}, {}},
      {"only the always one on a 404", get("/always/none"), false, 404, "", {"X-A: 1"}, {"X-B"}},
  });
}

TEST_F(RoutingTest, Return) {
  run({
      {"a redirect", get("/old"), false, 301, "", {"Location: /new"}, {}},
      {"a text", get("/teapot"), false, 200, "short and stout", {"Content-Type: text/plain"}, {}},
      {"a code alone is the error page", get("/gone"), false, 410, "", {}, {}},
  });
}

TEST_F(RoutingTest, ErrorPage) {
  run({
      {"a missing file: the configured page, status kept",
       get("/nothing"),
       false,
       404,
       "custom404",
       {},
       {}},
      {"the other server has no error_page",
       get("/nothing", "b.test"),
       false,
       404,
       "Not Found",
       {},
       {}},
  });
}

TEST_F(RoutingTest, AllowDenyBeforeAnyFile) {
  run({
      {"allowed address", get("/admin/x.txt"), false, 200, "X", {}, {}},
      {"another address", get("/admin/x.txt"), true, 403, "", {}, {}},
      {"deny all, existing file", get("/closed/x.txt"), false, 403, "", {}, {}},
      {"deny all, missing file: still 403, not 404", get("/closed/none"), false, 403, "", {}, {}},
      {"deny in a regex location", get("/k.secret"), false, 403, "", {}, {}},
  });
}

TEST_F(RoutingTest, AuthBasic) {
  const std::string good = "Authorization: Basic YWRtaW46czNjcmV0\r\n";        // admin:s3cret
  const std::string bad = "Authorization: Basic YWRtaW46d3Jvbmc=\r\n";         // admin:wrong
  const std::string nobody = "Authorization: Basic bm9ib2R5OnMzY3JldA==\r\n";  // nobody:s3cret
  run({
      {"no credentials",
       get("/secret/x.txt"),
       false,
       401,
       "",
       {"WWW-Authenticate: Basic realm=\"Admin area\""},
       {}},
      {"wrong password", get("/secret/x.txt", "a.test", bad), false, 401, "", {}, {}},
      {"unknown user", get("/secret/x.txt", "a.test", nobody), false, 401, "", {}, {}},
      {"another scheme",
       get("/secret/x.txt", "a.test", "Authorization: Bearer x\r\n"),
       false,
       401,
       "",
       {},
       {}},
      {"right password", get("/secret/x.txt", "a.test", good), false, 200, "S", {}, {}},
      {"checked before the file: 401 for a missing one",
       get("/secret/none"),
       false,
       401,
       "",
       {},
       {}},
  });
}

TEST_F(RoutingTest, GzipStatic) {
  const std::string gz = "Accept-Encoding: gzip\r\n";
  run({
      {"on by default",
       get("/g.txt", "a.test", gz),
       false,
       200,
       "GZ",
       {"Content-Encoding: gzip", "Vary: Accept-Encoding"},
       {}},
      {"off in a location",
       get("/nogz/g.txt", "a.test", gz),
       false,
       200,
       "plain",
       {},
       {"Content-Encoding", "Vary"}},
  });
}

TEST_F(RoutingTest, ClientMaxBodySizeIsTheLocations) {
  RequestContext seen;
  answer(get("/small/x") + "\r\n", false, &seen);
  EXPECT_EQ(seen.maxBody, 10u);
  answer(get("/a.txt") + "\r\n", false, &seen);
  EXPECT_EQ(seen.maxBody, uint64_t{1} << 20);
}

// Without server blocks, the flat configuration is one implicit server: every Host reaches it.
TEST(RoutingFlatTest, EveryHostReachesTheImplicitServer) {
  Config cfg;
  cfg.root = "/";
  Sites sites;
  std::string err;
  ASSERT_TRUE(sites.open(cfg, &err)) << err;
  ASSERT_EQ(sites.routes().servers.size(), 1u);
  for (const char* host : {"a.test", "b.test", "127.0.0.1:8080", "[::1]"}) {
    SCOPED_TRACE(host);
    EXPECT_EQ(&selectServer(sites.routes().listens[0], host), sites.routes().servers[0].get());
  }
}

}  // namespace
}  // namespace hs
