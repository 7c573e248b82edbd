// proxy_backend: the Go net/http upstream of the reverse-proxy integration tests. Usage:
// proxy_backend ADDR NAME; prints "listening PORT" once it accepts. Routes:
//   /echo          "NAME METHOD REQUEST_URI host=HOST" then the request headers, sorted, one a
//                  line ("Name: v1, v2"), then "body=" and the request body
//   /big?n=N       N bytes ("0123456789" repeated), with Content-Length
//   /chunked?n=N   N lines "line I" flushed one by one: a chunked response
//   /cookies       two Set-Cookie fields
//   /status?c=C    status C, body "status C" (no body for 204 and 304)
//   /hang          never answers (until the client goes away)
//   anything else  as /echo
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
)

func echo(w http.ResponseWriter, r *http.Request, name string) {
	body, _ := io.ReadAll(r.Body)
	keys := make([]string, 0)
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "%s %s %s host=%s peer=%s\n", name, r.Method, r.RequestURI, r.Host, r.RemoteAddr)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	fmt.Fprintf(w, "body=%s", body)
}

func main() {
	name := os.Args[2]
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	h := func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		switch r.URL.Path {
		case "/big":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			block := []byte(strings.Repeat("0123456789", 6554))
			for left := n; left > 0; {
				k := len(block)
				if left < k {
					k = left
				}
				w.Write(block[:k])
				left -= k
			}
		case "/chunked":
			f := w.(http.Flusher)
			for i := 0; i < n; i++ {
				fmt.Fprintf(w, "line %d\n", i)
				f.Flush()
			}
		case "/cookies":
			w.Header().Add("Set-Cookie", "a=1; Path=/")
			w.Header().Add("Set-Cookie", "b=2; Path=/")
			io.WriteString(w, "cookies")
		case "/status":
			c, _ := strconv.Atoi(r.URL.Query().Get("c"))
			w.WriteHeader(c)
			if c != 204 && c != 304 {
				fmt.Fprintf(w, "status %d", c)
			}
		case "/hang":
			<-r.Context().Done()
		default:
			echo(w, r, name)
		}
	}
	fmt.Printf("listening %d\n", ln.Addr().(*net.TCPAddr).Port)
	os.Stdout.Sync()
	http.Serve(ln, http.HandlerFunc(h))
}
