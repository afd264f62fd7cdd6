// Command githttp serves the git repositories under -root over smart HTTP
// for the fresh-clone outage bench: git's own `git http-backend` run as a
// CGI program (net/http/cgi), the way a web server hosts git. It listens
// on 127.0.0.1 only and writes its address to -addr-file.
//
//	githttp -root DIR -addr-file http.addr
//
// Every repository under -root is exported (GIT_HTTP_EXPORT_ALL); a
// client's Git-Protocol header reaches http-backend as HTTP_GIT_PROTOCOL,
// so protocol v2 clients get v2.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	root := flag.String("root", "", "directory holding the repositories (GIT_PROJECT_ROOT)")
	addrFile := flag.String("addr-file", "", "write the listen address (HOST:PORT) here")
	flag.Parse()
	if *root == "" || *addrFile == "" {
		flag.Usage()
		os.Exit(2)
	}
	abs, err := filepath.Abs(*root)
	if err != nil {
		log.Fatal(err)
	}
	git, err := exec.LookPath("git")
	if err != nil {
		log.Fatal(err)
	}
	h := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + abs,
			"GIT_HTTP_EXPORT_ALL=1",
		},
		InheritEnv: []string{"PATH", "HOME"},
		Stderr:     os.Stderr,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*addrFile+".tmp", []byte(ln.Addr().String()+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.Rename(*addrFile+".tmp", *addrFile); err != nil {
		log.Fatal(err)
	}
	log.Fatal(http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// cgi.Handler derives PATH_INFO from the URL path after Root.
		if strings.Contains(r.URL.Path, "..") {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		h.ServeHTTP(w, r)
	})))
}
