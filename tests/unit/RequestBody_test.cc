// RequestBody: Content-Length and chunked bodies fed whole, split at every offset and byte by
// byte must give the same status, bytes used, data and error, in memory and spilled to the temp
// file (the spill boundary both ways); a chunked body that grows past its limit is a 413; the
// temp file never has a name in its directory.
#include "RequestBody.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "GuardedBuffer.h"
#include "SplitFeed.h"

namespace hs {
namespace {

using Status = RequestBody::Status;

struct Result {
  Status status = Status::kNeedMore;
  size_t used = 0;
  std::string data;  // read back from the complete body
  bool inFile = false;
  int error = 0;
  bool operator==(const Result&) const = default;
};

void PrintTo(const Result& r, std::ostream* os) {
  *os << "{status=" << static_cast<int>(r.status) << " used=" << r.used << " data=\"" << r.data
      << "\" inFile=" << r.inFile << " error=" << r.error << "}";
}

class TempDirectory {
 public:
  TempDirectory() {
    char tmpl[] = "/tmp/RequestBody_test.XXXXXX";
    path_ = ::mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  ~TempDirectory() { ::rmdir(path_.c_str()); }
  const std::string& path() const { return path_; }
  size_t entries() const {
    size_t n = 0;
    DIR* d = ::opendir(path_.c_str());
    if (d == nullptr) return 0;
    while (dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
    return n;
  }

 private:
  std::string path_;
};

struct Case {
  const char* name;
  bool chunked;
  uint64_t contentLength;
  std::string input;
  uint64_t maxBody;
  size_t memLimit;
  Result want;
};

// Reads the whole body back in pieces of 3 bytes, so offsets inside the buffer and the file are
// exercised.
std::string readBack(const RequestBody& body) {
  std::string out;
  char buf[3];
  for (;;) {
    ssize_t n = body.read(out.size(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result feedPieces(const Case& c, const std::string& dir, std::string_view input,
                  const std::vector<size_t>& cuts) {
  GuardedBuffer guard(input.size());
  RequestBody body;
  body.begin(c.chunked, c.contentLength, c.maxBody, c.memLimit, dir.c_str());
  Result r;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    if (end < start) continue;
    const std::string_view piece = input.substr(start, end - start);
    size_t used = 12345;
    r.status = body.feed(guard.place(piece), piece.size(), &used);
    EXPECT_LE(used, piece.size());
    if (r.status == Status::kNeedMore) {
      EXPECT_EQ(used, piece.size());
    }
    r.used += used;
    start = end;
    if (r.status != Status::kNeedMore) break;
  }
  r.error = body.errorStatus();
  r.inFile = body.inFile();
  if (r.status == Status::kDone) {
    r.data = readBack(body);
    EXPECT_EQ(body.size(), r.data.size());
  }
  body.clear();
  EXPECT_FALSE(body.inFile());
  return r;
}

Result done(size_t used, std::string data, bool inFile) {
  return Result{Status::kDone, used, std::move(data), inFile, 0};
}
Result error(size_t used, int status) { return Result{Status::kError, used, "", false, status}; }

TEST(RequestBodyTest, EverySplitGivesTheSameBody) {
  TempDirectory dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string chunked = "3\r\nabc\r\n5;x=y\r\ndefgh\r\n0\r\nT: v\r\n\r\n";
  const Case cases[] = {
      {"length in memory", false, 5, "hello", 100, 16, done(5, "hello", false)},
      {"length, next request after it", false, 3, "abcGET", 100, 16, done(3, "abc", false)},
      {"length exactly the buffer", false, 8, "12345678", 100, 8, done(8, "12345678", false)},
      {"length one past the buffer", false, 9, "123456789", 100, 8, done(9, "123456789", true)},
      {"length three buffers", false, 25, std::string(25, 'z'), 100, 8,
       done(25, std::string(25, 'z'), true)},
      {"length over the limit", false, 101, "x", 100, 8, error(0, 413)},
      {"chunked in memory", true, 0, chunked, 100, 16, done(chunked.size(), "abcdefgh", false)},
      {"chunked at the boundary", true, 0, chunked, 100, 8,
       done(chunked.size(), "abcdefgh", false)},
      {"chunked spilled", true, 0, chunked, 100, 7, done(chunked.size(), "abcdefgh", true)},
      {"chunked, next request after it", true, 0, "1\r\nq\r\n0\r\n\r\nGET", 100, 8,
       done(11, "q", false)},
      {"chunked empty", true, 0, "0\r\n\r\n", 100, 8, done(5, "", false)},
      {"chunked grows past the limit", true, 0, "4\r\nabcd\r\n3\r\nxyz\r\n0\r\n\r\n", 6, 4,
       error(11, 413)},
      {"chunked first chunk too large", true, 0, "7\r\nabcdefg\r\n0\r\n\r\n", 6, 4, error(2, 413)},
      {"chunked malformed", true, 0, "3\r\nabcX\r\n", 100, 8, error(7, 400)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Result whole = feedPieces(c, dir.path(), c.input, {});
    EXPECT_EQ(whole, c.want);
    expectSplitInvariant(c.input, whole, [&](std::string_view in, const std::vector<size_t>& cuts) {
      return feedPieces(c, dir.path(), in, cuts);
    });
  }
  EXPECT_EQ(dir.entries(), 0u);  // O_TMPFILE: nothing was ever named
}

TEST(RequestBodyTest, ReusedAfterClearAndAcrossASpill) {
  TempDirectory dir;
  RequestBody body;
  size_t used = 0;
  body.begin(false, 20, 100, 8, dir.path().c_str());
  ASSERT_EQ(body.feed("0123456789abcdefghij", 20, &used), Status::kDone);
  EXPECT_TRUE(body.inFile());
  EXPECT_EQ(readBack(body), "0123456789abcdefghij");
  body.begin(false, 4, 100, 8, dir.path().c_str());  // the file of the last body is gone
  EXPECT_FALSE(body.inFile());
  ASSERT_EQ(body.feed("wxyz", 4, &used), Status::kDone);
  EXPECT_EQ(readBack(body), "wxyz");
}

TEST(RequestBodyTest, UnusableTempDirectoryIs500) {
  RequestBody body;
  size_t used = 0;
  body.begin(false, 10, 100, 4, "/nonexistent/RequestBody_test");
  EXPECT_EQ(body.feed("0123456789", 10, &used), Status::kError);
  EXPECT_EQ(body.errorStatus(), 500);
}

}  // namespace
}  // namespace hs
