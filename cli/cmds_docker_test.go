package cli

import (
	"context"
	"flag"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/rogpeppe/go-internal/testscript"
)

// Docker engine commands for the testscript suites.
func init() {
	scriptCmds["docker-image"] = cmdDockerImage
	scriptCmds["cosign-tag"] = cmdCosignTag
	scriptCmds["http-status"] = cmdHTTPStatus
}

const dockerImageUsage = "docker-image [-label K=V]... [-seed S] [-file NAME] NAME:TAG"

// cmdDockerImage builds an image FROM scratch in the engine at DOCKER_HOST
// (nothing can be pulled here), holding one file whose content is the seed,
// with the given labels, tagged NAME:TAG; $IMAGEID is set to its ID. The
// image is removed when the script ends.
//
//	docker-image [-label K=V]... [-seed S] [-file NAME] NAME:TAG
func cmdDockerImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: %s", dockerImageUsage)
	}
	fs := flag.NewFlagSet("docker-image", flag.ContinueOnError)
	var labels listFlag
	fs.Var(&labels, "label", "image label K=V (repeatable)")
	seed := fs.String("seed", "", "content of the image's one file")
	file := fs.String("file", "payload", "name of the image's one file")
	rest := scriptFlags(ts, dockerImageUsage, fs, args)
	if len(rest) != 1 || !strings.Contains(rest[0], ":") {
		ts.Fatalf("usage: %s", dockerImageUsage)
	}
	ref := rest[0]
	ctx := context.Background()
	engine, err := artifacts.NewEngine(ctx)
	if err != nil {
		ts.Fatalf("docker-image: %v", err)
	}
	dir, err := os.MkdirTemp(ts.Getenv("WORK"), ".docker-image-")
	if err != nil {
		ts.Fatalf("docker-image: %v", err)
	}
	defer os.RemoveAll(dir)
	ts.Check(os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY "+*file+" /"+*file+"\n"), 0o644))
	ts.Check(os.WriteFile(filepath.Join(dir, *file), []byte(*seed+"\n"), 0o644))
	id, err := engine.Build(ctx, artifacts.BuildRequest{
		ContextDir: dir,
		Labels:     keyValues(ts, labels),
		Tags:       []string{ref},
	})
	if err != nil {
		engine.Close()
		ts.Fatalf("docker-image %s: %v", ref, err)
	}
	ts.Setenv("IMAGEID", id)
	ts.Defer(func() {
		defer engine.Close()
		_ = engine.Remove(context.Background(), id)
	})
}

// cmdCosignTag sets $NAME to the tag cosign stores a signature of DIGEST
// under, without the suffix: "sha256-<hex>".
//
//	cosign-tag NAME DIGEST
func cmdCosignTag(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || !strings.HasPrefix(args[1], "sha256:") {
		ts.Fatalf("usage: cosign-tag NAME sha256:HEX")
	}
	ts.Setenv(args[0], strings.Replace(args[1], ":", "-", 1))
}

// cmdHTTPStatus serves CODE to every request on 127.0.0.1 and sets $NAME
// to its URL: the service --verify-url polls. It stops when the script ends.
//
//	http-status NAME CODE
func cmdHTTPStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: http-status NAME CODE")
	}
	code, err := strconv.Atoi(args[1])
	if err != nil || code < 100 || code > 599 {
		ts.Fatalf("usage: http-status NAME CODE: %q is not an HTTP status", args[1])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("http-status: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
	})}
	go func() { _ = srv.Serve(ln) }()
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], "http://"+ln.Addr().String()+"/healthz")
}
