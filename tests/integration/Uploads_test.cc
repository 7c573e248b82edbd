// Request bodies through the FastCGI gateway, end to end with a real php-cgi: a form POST, a
// 5 MiB upload (Content-Length and chunked) whose length and CRC-32 the script returns, Expect:
// 100-continue, 413 for a declared and for a growing body, and a slow uploader that holds no
// application process (one php-cgi answers others meanwhile). The temp files have no names: the
// temp directory stays empty. The cases skip (one line) where php-cgi is not installed.
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "TestServer.h"
#include "Wait.h"

namespace hs::integration {
namespace {

constexpr char kPhpCgi[] = "/usr/bin/php-cgi";

uint32_t crc32(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::string summary(std::string_view data) {
  char crc[16];
  std::snprintf(crc, sizeof crc, "%08x", crc32(data));
  return "len=" + std::to_string(data.size()) + " crc=" + crc;
}

// Bytes that are not all alike, so a lost or reordered piece changes the CRC.
std::string pattern(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 12345;
  for (char& c : s) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>(x >> 24);
  }
  return s;
}

std::string chunkedBody(std::string_view data) {
  std::string out;
  size_t pos = 0, size = 1;
  while (pos < data.size()) {
    const size_t n = std::min(size, data.size() - pos);
    char line[32];
    std::snprintf(line, sizeof line, "%zx\r\n", n);
    out.append(line).append(data.substr(pos, n)).append("\r\n");
    pos += n;
    size = size * 3 + 7;  // irregular sizes, up to large chunks
  }
  return out + "0\r\n\r\n";
}

std::string post(std::string_view target, std::string_view body, std::string_view extra = "") {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         std::string(extra) + "\r\n" + std::string(body);
}

class UploadsTest : public ServerTest {
 protected:
  void SetUp() override {
    ::chmod(dir_.path().c_str(), 0755);  // the apps run as nobody
    temp_ = dir_.path() + "/bodies";
    ASSERT_EQ(::mkdir(temp_.c_str(), 0777), 0);
    ::chmod(temp_.c_str(), 0777);
    ASSERT_TRUE(writeFile(dir_.path() + "/form.php",
                          "<?php echo 'a=', $_POST['a'] ?? '-', ' b=', $_POST['b'] ?? '-',"
                          " ' cl=', $_SERVER['CONTENT_LENGTH'];"));
    ASSERT_TRUE(writeFile(dir_.path() + "/sum.php",
                          "<?php $b = file_get_contents('php://input');"
                          " echo 'len=', strlen($b), ' crc=', hash('crc32b', $b);"));
    ASSERT_TRUE(writeFile(dir_.path() + "/pid.php", "<?php echo getmypid();"));
  }

  // One worker, one php-cgi process; `location` goes into the .php location.
  void startPhp(const std::string& location = "") {
    const std::string conf = dir_.path() + "/hs.conf";
    ASSERT_TRUE(writeFile(
        conf, "app php {\n command " + std::string(kPhpCgi) +
                  ";\n processes 1;\n env PHP_FCGI_MAX_REQUESTS=0;\n}\n"
                  "client_body_buffer_size 16k;\nclient_body_temp_path " +
                  temp_ + ";\nserver {\n root " + dir_.path() +
                  ";\n client_max_body_size 8m;\n location ~ \\.php$ {\n fastcgi_pass php;\n " +
                  location + "\n }\n}\n"));
    ServerOptions opts;
    opts.procs = 1;
    opts.root = dir_.path();
    opts.extraArgs = {"-c", conf};
    opts.waitForWorkers = false;
    ASSERT_NO_FATAL_FAILURE(startServer(opts));
  }

  bool tempDirEmpty() const { return std::filesystem::is_empty(std::filesystem::path(temp_)); }

  TempDir dir_;
  std::string temp_;
};

#define NEED_PHP()                  \
  if (::access(kPhpCgi, X_OK) != 0) \
  GTEST_SKIP() << "php-cgi is not installed (Debian package php-cgi)"

TEST_F(UploadsTest, FormPostIsEchoedOnAKeptAliveConnection) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  Client c(port());
  ASSERT_TRUE(c.ok());
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::string body = "a=hello+" + std::to_string(i) + "&b=w%26x";
    Response r =
        c.exchange(post("/form.php", body, "Content-Type: application/x-www-form-urlencoded\r\n"));
    ASSERT_EQ(r.status, 200) << r.describe() << r.error << "\n" << server_.log();
    EXPECT_EQ(r.body, "a=hello " + std::to_string(i) + " b=w&x cl=" + std::to_string(body.size()));
  }
  Response g = c.exchange(getRequest("/form.php"));  // a GET after the bodies: no CONTENT_LENGTH
  EXPECT_EQ(g.body, "a=- b=- cl=") << g.describe();
}

TEST_F(UploadsTest, LargeUploadsArriveWholeWithLengthOrChunked) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  const std::string data = pattern(5 << 20);
  struct Case {
    const char* name;
    std::string request;
    std::string want;
  };
  const Case cases[] = {
      {"content-length", post("/sum.php", data), summary(data)},
      {"chunked",
       "POST /sum.php HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n" +
           chunkedBody(data),
       summary(data)},
      {"small chunked",
       "POST /sum.php HTTP/1.1\r\nHost: 127.0.0.1\r\n"
       "Transfer-Encoding: chunked\r\n\r\n" +
           chunkedBody("tiny"),
       summary("tiny")},
  };
  Client c(port());
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    auto t0 = Clock::now();
    Response r = c.exchange(k.request);
    ASSERT_EQ(r.status, 200) << r.describe() << r.error << "\n" << server_.log();
    EXPECT_EQ(r.body, k.want);
    std::printf("[ figures  ] %s upload of %zu bytes answered in %lld ms\n", k.name,
                k.request.size(), static_cast<long long>(msSince(t0)));
  }
  EXPECT_TRUE(tempDirEmpty());
}

TEST_F(UploadsTest, ExpectContinueComesBeforeTheBody) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  const std::string data = pattern(100000);
  Client c(port());
  ASSERT_TRUE(
      c.send("POST /sum.php HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\n"
             "Content-Length: " +
             std::to_string(data.size()) + "\r\n\r\n"));
  // Nothing of the body is sent before the interim response: the server must send it first.
  ASSERT_TRUE(waitReadable(c.fd(), scaled(3000)));
  const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string interim(kContinue.size(), '\0');
  ASSERT_EQ(::recv(c.fd(), interim.data(), interim.size(), MSG_WAITALL),
            static_cast<ssize_t>(interim.size()));
  EXPECT_EQ(interim, kContinue);
  ASSERT_TRUE(c.send(data));
  Response r = c.read();
  EXPECT_EQ(r.status, 200) << r.describe() << r.error;
  EXPECT_EQ(r.body, summary(data));
}

TEST_F(UploadsTest, TooLargeBodiesAre413AndTheConnectionCloses) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp("client_max_body_size 1k;"));
  {
    SCOPED_TRACE("declared");
    Client c(port());
    Response r = c.exchange(post("/sum.php", std::string(2000, 'x')));
    EXPECT_EQ(r.status, 413) << r.describe();
    EXPECT_TRUE(c.waitClosed(scaled(3000)));
  }
  {
    SCOPED_TRACE("chunked, growing past the limit");
    Client c(port());
    ASSERT_TRUE(
        c.send("POST /sum.php HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Transfer-Encoding: chunked\r\n\r\n200\r\n" +
               std::string(0x200, 'y') + "\r\n"));
    ASSERT_TRUE(c.send("300\r\n" + std::string(0x300, 'z') + "\r\n"));
    Response r = c.read();
    EXPECT_EQ(r.status, 413) << r.describe();
    EXPECT_TRUE(c.waitClosed(scaled(3000)));
  }
  Response ok = fetch(port(), post("/sum.php", "fits"));
  EXPECT_EQ(ok.body, summary("fits")) << ok.describe();
}

// A client sends its body over ~2 s to the only php-cgi process; meanwhile other requests are
// answered at once (well under the upload's 2 s), which shows the upload did not hold the app.
TEST_F(UploadsTest, SlowUploaderHoldsNoApplicationProcess) {
  NEED_PHP();
  ASSERT_NO_FATAL_FAILURE(startPhp());
  const std::string data = pattern(200000);
  const size_t kPieces = 20;
  Client other(port());
  Response warm = other.exchange(getRequest("/pid.php"));  // the app has started
  ASSERT_EQ(warm.status, 200) << warm.describe() << warm.error;
  Client slow(port());
  ASSERT_TRUE(slow.send("POST /sum.php HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                        std::to_string(data.size()) + "\r\n\r\n"));
  std::atomic<bool> sent{false};
  std::thread uploader([&] {
    const size_t piece = data.size() / kPieces;
    for (size_t i = 0; i < kPieces; ++i) {
      pace(100);
      size_t n = i + 1 == kPieces ? data.size() - i * piece : piece;
      if (!slow.send(std::string_view(data).substr(i * piece, n))) break;
    }
    sent = true;
  });
  int answered = 0;
  int64_t slowest = 0;
  while (!sent) {
    auto t0 = Clock::now();
    Response r = other.exchange(getRequest("/pid.php"));
    slowest = std::max(slowest, msSince(t0));
    EXPECT_EQ(r.status, 200) << r.describe() << r.error;
    if (r.status != 200) break;
    ++answered;
    pace(50);
  }
  uploader.join();
  Response r = slow.read();
  EXPECT_EQ(r.status, 200) << r.describe() << r.error;
  EXPECT_EQ(r.body, summary(data));
  EXPECT_GE(answered, 10);
  EXPECT_LT(slowest, scaled(1000));
  std::printf("[ figures  ] %d requests answered during a 2 s upload, slowest %lld ms\n", answered,
              static_cast<long long>(slowest));
}

}  // namespace
}  // namespace hs::integration
