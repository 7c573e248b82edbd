#include "StaticFileHandler.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ErrorPages.h"
#include "FileCache.h"
#include "HandlerHarness.h"
#include "ThreadPool.h"

namespace hs {
namespace {

using test::Answer;
using test::Exchange;

constexpr std::string_view kBoundary = "0123456789abcdef";

// A temporary document root with a few files, a cache over it, and handlers built on that cache.
class StaticFileHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/static_handler_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    write("index.html", "<h1>home</h1>\n");
    write("a.txt", "hello world");
    write("style.css", "body{}");
    write("style.css.gz", "GZ");
    write(".hidden", "secret");
    write("404.html", "custom not found\n");
    ASSERT_EQ(::mkdir((root_ + "/dir").c_str(), 0755), 0);
    write("dir/x.txt", "x");
    big_.resize(FileCache::kSmallFile + 100);
    for (size_t i = 0; i < big_.size(); ++i) big_[i] = static_cast<char>('a' + i % 26);
    write("big.bin", big_);
    rootFd_.reset(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(rootFd_.valid());
    cache_ = std::make_unique<FileCache>(rootFd_.get());
  }
  void TearDown() override {
    cache_.reset();
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }
  void write(const std::string& rel, const std::string& content) {
    std::ofstream out(root_ + "/" + rel, std::ios::binary | std::ios::trunc);
    out << content;
    ASSERT_TRUE(out.good());
  }

  // Answers `raw` with a handler using `options` and the error pages `pages`.
  Answer answer(const std::string& raw, StaticFileOptions options = {},
                std::map<int, std::string> pages = {}) {
    options.boundary = kBoundary;
    options.root = root_;
    ErrorPages errors(pages, cache_.get());
    StaticFileHandler handler(options, cache_.get(), &errors);
    Exchange ex(raw, test::loopbackPeer(), 1000);
    ResponsePlan plan;
    test::NoSink sink;
    EXPECT_EQ(handler.start(ex.ctx(), plan, sink), Reply::kReady);
    refusals_ = sink.refusals;
    return test::render(plan);
  }

  std::string root_;
  std::vector<test::NoSink::Refused> refusals_;  // what the last answer() refused
  std::string big_;
  UniqueFd rootFd_;
  std::unique_ptr<FileCache> cache_;
  const std::map<int, std::string> noPages_;  // no error_page: the built-in pages
};

std::string get(const std::string& target, const std::string& headers = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n";
}

TEST_F(StaticFileHandlerTest, AnswersByTable) {
  struct Case {
    const char* name;
    std::string request;
    int status;
    std::vector<std::string> lines;  // header lines the head must have
    std::string body;                // expected body ("*" : not checked)
  };
  const Case cases[] = {
      {"root serves index.html", get("/"), 200, {"Content-Length: 14"}, "<h1>home</h1>\n"},
      {"a small file",
       get("/a.txt"),
       200,
       {"Content-Length: 11", "Accept-Ranges: bytes"},
       "hello world"},
      {"HEAD has the head only",
       "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
       200,
       {"Content-Length: 11"},
       ""},
      {"missing file", get("/missing"), 404, {}, "*"},
      {"directory without slash redirects", get("/dir"), 301, {"Location: /dir/"}, "*"},
      {"redirect keeps the query", get("/dir?x=1"), 301, {"Location: /dir/?x=1"}, "*"},
      {"absolute-form target, parsed once",
       get("http://example.com/dir?x=1"),
       301,
       {"Location: /dir/?x=1"},
       "*"},
      {"directory without index, listing off", get("/dir/"), 403, {}, "*"},
      {"file named as a directory", get("/a.txt/"), 404, {}, "*"},
      {"hidden file", get("/.hidden"), 404, {}, "*"},
      {"encoded slash", get("/dir%2Fx.txt"), 400, {}, "*"},
      {"file in a directory", get("/dir/x.txt"), 200, {"Content-Length: 1"}, "x"},
      {"POST is not allowed",
       "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
       405,
       {"Allow: GET, HEAD, OPTIONS"},
       "*"},
      {"unknown method", "BREW /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 501, {}, "*"},
      {"OPTIONS",
       "OPTIONS /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
       200,
       {"Allow: GET, HEAD, OPTIONS", "Content-Length: 0"},
       ""},
      {"one range",
       get("/a.txt", "Range: bytes=0-4\r\n"),
       206,
       {"Content-Range: bytes 0-4/11"},
       "hello"},
      {"suffix range",
       get("/a.txt", "Range: bytes=-5\r\n"),
       206,
       {"Content-Range: bytes 6-10/11"},
       "world"},
      {"unsatisfiable range",
       get("/a.txt", "Range: bytes=50-60\r\n"),
       416,
       {"Content-Range: bytes */11"},
       "*"},
      {"large file from the cached fd", get("/big.bin"), 200, {"Content-Length: 32868"}, "*"},
      {"variant chosen by Accept-Encoding",
       get("/style.css", "Accept-Encoding: gzip\r\n"),
       200,
       {"Content-Encoding: gzip", "Vary: Accept-Encoding", "Content-Type: text/css; charset=utf-8"},
       "GZ"},
      {"variant refused with q=0",
       get("/style.css", "Accept-Encoding: gzip;q=0\r\n"),
       200,
       {"Vary: Accept-Encoding"},
       "body{}"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Answer a = answer(c.request);
    EXPECT_EQ(a.status, c.status) << a.head;
    EXPECT_EQ(a.head.rfind("HTTP/1.1 " + std::to_string(c.status) + " ", 0), 0u) << a.head;
    for (const std::string& line : c.lines) {
      EXPECT_TRUE(a.hasLine(line)) << line << " not in\n" << a.head;
    }
    if (c.body != "*") {
      EXPECT_EQ(a.body, c.body);
    }
    EXPECT_EQ(a.bodyBytes, a.body.size());
  }
}

TEST_F(StaticFileHandlerTest, LargeFileIsSentFromTheFileNotMemory) {
  Answer a = answer(get("/big.bin"));
  EXPECT_TRUE(a.holdsFile);
  EXPECT_EQ(a.body, big_);
}

TEST_F(StaticFileHandlerTest, MultipartRangesCarryTheirPartHeads) {
  Answer a = answer(get("/a.txt", "Range: bytes=0-1,6-7\r\n"));
  ASSERT_EQ(a.status, 206);
  EXPECT_TRUE(a.hasLine("Content-Type: multipart/byteranges; boundary=" + std::string(kBoundary)));
  std::string expected =
      "--" + std::string(kBoundary) +
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-1/11\r\n\r\nhe"
      "\r\n--" +
      std::string(kBoundary) +
      "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 6-7/11\r\n\r\nwo"
      "\r\n--" +
      std::string(kBoundary) + "--\r\n";
  EXPECT_EQ(a.body, expected);
  EXPECT_TRUE(a.hasLine("Content-Length: " + std::to_string(expected.size())));
}

TEST_F(StaticFileHandlerTest, ValidatorsGive304And412) {
  Answer first = answer(get("/a.txt"));
  size_t at = first.head.find("ETag: ");
  ASSERT_NE(at, std::string::npos);
  std::string etag = first.head.substr(at + 6, first.head.find("\r\n", at) - at - 6);
  struct Case {
    const char* name;
    std::string headers;
    int status;
  };
  const Case cases[] = {
      {"If-None-Match matches", "If-None-Match: " + etag + "\r\n", 304},
      {"If-None-Match differs", "If-None-Match: \"other\"\r\n", 200},
      {"If-Match differs", "If-Match: \"other\"\r\n", 412},
      {"If-Range differs: whole file", "Range: bytes=0-1\r\nIf-Range: \"other\"\r\n", 200},
      {"If-Range matches: the range", "Range: bytes=0-1\r\nIf-Range: " + etag + "\r\n", 206},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Answer a = answer(get("/a.txt", c.headers));
    EXPECT_EQ(a.status, c.status) << a.head;
    if (c.status == 304) {
      EXPECT_TRUE(a.hasLine("ETag: " + etag));
      EXPECT_EQ(a.body, "");
    }
  }
}

TEST_F(StaticFileHandlerTest, ListingWhenAutoindexIsOn) {
  StaticFileOptions options;
  options.autoindex = true;
  Answer a = answer(get("/dir/"), options);
  ASSERT_EQ(a.status, 200);
  EXPECT_NE(a.body.find("<a href=\"x.txt\">x.txt</a>"), std::string::npos) << a.body;
  EXPECT_NE(a.body.find("Index of /dir/"), std::string::npos);
}

// A file the server may not or will not open is refused with one error-log line (through the
// sink); a missing file is not.
TEST_F(StaticFileHandlerTest, RefusalsAreReportedForTheErrorLog) {
  ASSERT_EQ(::symlink("/etc/hostname", (root_ + "/out").c_str()), 0);
  ASSERT_EQ(::mkfifo((root_ + "/fifo").c_str(), 0644), 0);
  struct Case {
    const char* name;
    std::string target;
    int status;
    bool refused;
    Refusal kind;
    std::string path;
  };
  const Case cases[] = {
      {"symlink out of the root", "/out", 403, true, Refusal::kOpenFailed, "out"},
      {"a FIFO", "/fifo", 403, true, Refusal::kNotRegular, "fifo"},
      {"missing: not a refusal", "/missing", 404, false, Refusal::kOpenFailed, ""},
      {"served: not a refusal", "/a.txt", 200, false, Refusal::kOpenFailed, ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Answer a = answer(get(c.target));
    EXPECT_EQ(a.status, c.status);
    ASSERT_EQ(refusals_.size(), c.refused ? 1u : 0u);
    if (!c.refused) continue;
    EXPECT_EQ(refusals_[0].kind, c.kind);
    EXPECT_EQ(refusals_[0].path, c.path);
    EXPECT_EQ(refusals_[0].root, root_);
    if (c.kind == Refusal::kOpenFailed) {
      EXPECT_TRUE(refusals_[0].err == EXDEV || refusals_[0].err == ELOOP) << refusals_[0].err;
    }
  }
}

TEST_F(StaticFileHandlerTest, MaxAgeAddsCacheControl) {
  StaticFileOptions options;
  options.maxAge = 60;
  EXPECT_TRUE(answer(get("/a.txt"), options).hasLine("Cache-Control: max-age=60"));
  EXPECT_FALSE(answer(get("/a.txt")).hasLine("Cache-Control: max-age=60"));
}

TEST_F(StaticFileHandlerTest, ConfiguredErrorPageKeepsTheStatus) {
  Answer a = answer(get("/missing"), {}, {{404, "/404.html"}});
  EXPECT_EQ(a.status, 404);
  EXPECT_EQ(a.body, "custom not found\n");
  Answer head = answer("HEAD /missing HTTP/1.1\r\nHost: x\r\n\r\n", {}, {{404, "/404.html"}});
  EXPECT_EQ(head.body, "");
  EXPECT_TRUE(head.hasLine("Content-Length: 17"));
}

// With a pool, a cold cache answers later, and the answer is the one given inline; the same
// request again is answered at once without a task (the hot path never touches the pool).
TEST_F(StaticFileHandlerTest, WithAPoolMissesAnswerLaterWithTheInlineAnswer) {
  struct Case {
    const char* name;
    std::string raw;
    uint64_t minTasks;  // lookups that missed: the file, its siblings, an index
  } cases[] = {
      {"small file", get("/a.txt"), 3},
      {"large file", get("/big.bin"), 3},
      {"directory index", get("/"), 4},
      {"directory without slash", get("/dir"), 1},
      {"directory without index", get("/dir/"), 2},
      {"missing", get("/nope.txt"), 1},
      {"precompressed variant", get("/style.css", "Accept-Encoding: gzip\r\n"), 3},
      {"head", "HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n", 3},
      {"range of a large file", get("/big.bin", "Range: bytes=5-9,100-\r\n"), 3},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    Answer inlineAnswer = answer(c.raw);
    cache_ = std::make_unique<FileCache>(rootFd_.get());  // cold again
    ThreadPool pool(2, 8);
    ErrorPages errors(noPages_, cache_.get());
    StaticFileOptions options;
    options.boundary = kBoundary;
    StaticFileHandler handler(options, cache_.get(), &errors);
    handler.usePool(&pool);
    Exchange ex(c.raw, test::loopbackPeer(), 1000);
    test::LaterSink sink(ex.ctx());
    ASSERT_EQ(handler.start(ex.ctx(), sink.plan(), sink), Reply::kLater);
    EXPECT_EQ(test::finishWithPool(pool, sink), c.minTasks) << "one task per lookup that missed";
    ASSERT_EQ(sink.ends, 1);
    Answer later = test::render(sink.plan());
    EXPECT_EQ(later.status, inlineAnswer.status);
    EXPECT_EQ(later.head, inlineAnswer.head);
    EXPECT_EQ(later.body, inlineAnswer.body);
    sink.plan().release();

    const uint64_t submitted = pool.stats().submitted;
    Exchange again(c.raw, test::loopbackPeer(), 1000);
    test::LaterSink hot(again.ctx());
    EXPECT_EQ(handler.start(again.ctx(), hot.plan(), hot), Reply::kReady);
    EXPECT_EQ(test::render(hot.plan()).body, inlineAnswer.body);
    EXPECT_EQ(pool.stats().submitted, submitted) << "a cached answer touched the pool";
    hot.plan().release();
  }
}

// A full pool (every task record taken) degrades to the inline lookup.
TEST_F(StaticFileHandlerTest, WithAFullPoolMissesAreLookedUpInline) {
  ThreadPool pool(1, 1);
  PoolTask* taken = pool.acquire();
  ASSERT_NE(taken, nullptr);
  ErrorPages errors(noPages_, cache_.get());
  StaticFileHandler handler(StaticFileOptions{}, cache_.get(), &errors);
  handler.usePool(&pool);
  Exchange ex(get("/a.txt"), test::loopbackPeer(), 1000);
  test::LaterSink sink(ex.ctx());
  EXPECT_EQ(handler.start(ex.ctx(), sink.plan(), sink), Reply::kReady);
  EXPECT_EQ(test::render(sink.plan()).body, "hello world");
  EXPECT_EQ(pool.stats().refused, 3u) << "the file and its .br and .gz siblings";
  sink.plan().release();
  pool.abandon(taken);
}

// The connection went away before its task came back: the result is cached all the same.
TEST_F(StaticFileHandlerTest, ATaskWhoseConnectionWentAwayStillFillsTheCache) {
  ThreadPool pool(1, 4);
  ErrorPages errors(noPages_, cache_.get());
  StaticFileHandler handler(StaticFileOptions{}, cache_.get(), &errors);
  handler.usePool(&pool);
  Exchange ex(get("/a.txt"), test::loopbackPeer(), 1000);
  test::LaterSink sink(ex.ctx());
  ASSERT_EQ(handler.start(ex.ctx(), sink.plan(), sink), Reply::kLater);
  size_t got = 0;
  for (int i = 0; i < 100 && got == 0; ++i) {
    pollfd p{pool.eventFd(), POLLIN, 0};
    if (::poll(&p, 1, 100) != 1) continue;
    got = pool.collect([&](PoolTask& t) { handler.taskDone(t, nullptr, 1000); });
  }
  ASSERT_EQ(got, 1u);
  EXPECT_EQ(sink.ends, 0);
  FileEntry* e = cache_->tryAcquire("a.txt", 1000);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->size, 11u);
  cache_->release(e);
}

TEST_F(StaticFileHandlerTest, ReleasingThePlanReleasesTheFile) {
  ErrorPages errors(noPages_, cache_.get());
  StaticFileHandler handler(StaticFileOptions{}, cache_.get(), &errors);
  Exchange ex(get("/big.bin"), test::loopbackPeer(), 1000);
  ResponsePlan plan;
  test::NoSink sink;
  handler.start(ex.ctx(), plan, sink);
  ASSERT_NE(plan.file(), nullptr);
  FileEntry* e = plan.file();
  EXPECT_EQ(e->refs, 1u);
  plan.release();
  EXPECT_EQ(plan.file(), nullptr);
  EXPECT_EQ(e->refs, 0u);
  EXPECT_EQ(plan.nparts, 0u);
}

}  // namespace
}  // namespace hs
