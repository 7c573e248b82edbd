#include "GoApp.h"

#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "TestServer.h"

namespace hs::integration {
namespace {

constexpr char kGoSource[] = R"(package main

import (
	"fmt"
	"net/http"
	"net/http/fcgi"
	"os"
	"path"
	"strconv"
)

func handler(w http.ResponseWriter, r *http.Request) {
	switch path.Base(r.URL.Path) {
	case "hello":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-App", "go")
		w.Header().Set("X-Seen", r.Header.Get("X-Test"))
		http.SetCookie(w, &http.Cookie{Name: "first", Value: "1", Path: "/"})
		http.SetCookie(w, &http.Cookie{Name: "second", Value: "2", HttpOnly: true})
		fmt.Fprintf(w, "hello %s %s", r.Method, r.URL.RequestURI())
	case "big":
		mib, _ := strconv.Atoi(r.URL.Query().Get("mib"))
		w.Header().Set("Content-Type", "application/octet-stream")
		line := make([]byte, 1024)
		for i := 0; i < mib*1024; i++ {
			copy(line, fmt.Sprintf("%08d", i))
			for j := 8; j < 1023; j++ {
				line[j] = '.'
			}
			line[1023] = '\n'
			w.Write(line)
		}
	case "pid":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "pid=%d color=%s", os.Getpid(), os.Getenv("APP_COLOR"))
	default:
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "page %s", r.URL.Path)
	}
}

func main() {
	if err := fcgi.Serve(nil, http.HandlerFunc(handler)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
)";

std::string findGo() {
  for (const char* p : {"/usr/bin/go", "/usr/lib/go/bin/go", "/usr/local/go/bin/go"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

}  // namespace

std::string goFcgiApp(std::string* why) {
  static std::unique_ptr<TempDir> dir;
  static std::string binary, failure;
  if (!binary.empty() || !failure.empty()) {
    *why = failure;
    return binary;
  }
  const std::string go = findGo();
  if (go.empty()) {
    failure = "go is not installed (Debian package golang-go)";
    *why = failure;
    return "";
  }
  dir = std::make_unique<TempDir>();
  ::chmod(dir->path().c_str(), 0755);  // the app runs as the workers' user
  const std::string& d = dir->path();
  writeFile(d + "/main.go", kGoSource);
  RunResult r = runShell("cd " + d + " && env GOCACHE=" + d + "/cache GOPATH=" + d +
                             "/gopath GO111MODULE=off GOFLAGS= CGO_ENABLED=0 " + go + " build -o " +
                             d + "/fcgiapp main.go",
                         180000);
  if (r.exitCode != 0) {
    failure = "go build failed: " + r.out;
    *why = failure;
    return "";
  }
  binary = d + "/fcgiapp";
  return binary;
}

}  // namespace hs::integration
