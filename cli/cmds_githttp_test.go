package cli

import (
	"net"
	"net/http"
	"net/http/cgi"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["git-http"] = cmdGitHTTP
}

// cmdGitHTTP serves the bare repositories under DIR over git's smart HTTP
// protocol (git http-backend) on 127.0.0.1, and sets $NAME to its
// "127.0.0.1:PORT"; it stops when the script ends. Credentials in the URL
// are accepted and ignored, as a server with anonymous read access does.
//
//	git-http NAME DIR
func cmdGitHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: git-http NAME DIR")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		ts.Fatalf("git-http needs git: %v", err)
	}
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + ts.MkAbs(args[1]),
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + filepath.Join(ts.Getenv("WORK"), ".home"),
		},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("listening: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "..") {
			http.NotFound(w, r)
			return
		}
		backend.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], l.Addr().String())
}
