package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lkg-dev/lkg/internal/fixture"
)

// Commands for the drill suites (check, pin, status, env, automation).
func init() {
	scriptCmds["delete-blob"] = cmdDeleteBlob
	scriptCmds["git-daemon"] = cmdGitDaemon
	scriptCmds["health-server"] = cmdHealthServer
}

const deleteBlobUsage = "delete-blob [-platform OS/ARCH] [-child | -config | -layer N] HOST/REPO@DIGEST"

// cmdDeleteBlob deletes one blob of an image through the registry API
// (DELETE /v2/<name>/blobs/<digest>), as a retention rule or garbage
// collection would, and sets $BLOB to its digest: the image's last layer
// by default. For an index, -platform picks the child (the first child by
// default); -child deletes that child manifest itself
// (DELETE /v2/<name>/manifests/<digest>).
func cmdDeleteBlob(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! delete-blob")
	}
	fs := flag.NewFlagSet("delete-blob", flag.ContinueOnError)
	platform := fs.String("platform", "", "")
	config := fs.Bool("config", false, "")
	layer := fs.Int("layer", -1, "")
	childOnly := fs.Bool("child", false, "")
	rest := scriptFlags(ts, deleteBlobUsage, fs, args)
	if len(rest) != 1 {
		ts.Fatalf("usage: %s", deleteBlobUsage)
	}
	ref, err := fixture.ParseRef(rest[0])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := remote.Get(ref, remote.WithContext(ctx))
	ts.Check(err)
	manifest := desc.Manifest
	if *childOnly && !desc.MediaType.IsIndex() {
		ts.Fatalf("-child: %s is not an index", rest[0])
	}
	if desc.MediaType.IsIndex() {
		var idx v1.IndexManifest
		ts.Check(json.Unmarshal(manifest, &idx))
		var child *v1.Descriptor
		for i, m := range idx.Manifests {
			if m.Platform != nil && (*platform == "" || m.Platform.OS+"/"+m.Platform.Architecture == *platform) {
				child = &idx.Manifests[i]
				break
			}
		}
		if child == nil {
			ts.Fatalf("%s has no child for platform %q", rest[0], *platform)
		}
		if *childOnly {
			deleteThrough(ts, ctx, ref.Context().Digest(child.Digest.String()), "manifests", child.Digest.String())
			return
		}
		cd, err := remote.Get(ref.Context().Digest(child.Digest.String()), remote.WithContext(ctx))
		ts.Check(err)
		manifest = cd.Manifest
	}
	var m v1.Manifest
	ts.Check(json.Unmarshal(manifest, &m))
	blob := m.Config.Digest
	if !*config {
		i := *layer
		if i < 0 {
			i = len(m.Layers) - 1
		}
		if i >= len(m.Layers) {
			ts.Fatalf("%s has %d layer(s), no layer %d", rest[0], len(m.Layers), i)
		}
		blob = m.Layers[i].Digest
	}
	deleteThrough(ts, ctx, ref, "blobs", blob.String())
}

// deleteThrough deletes a blob or manifest by digest through the registry
// API and sets $BLOB to the digest.
func deleteThrough(ts *testscript.TestScript, ctx context.Context, ref name.Reference, kind, digest string) {
	reg := ref.Context().Registry
	u := fmt.Sprintf("%s://%s/v2/%s/%s/%s", reg.Scheme(), reg.RegistryStr(), ref.Context().RepositoryStr(), kind, digest)
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u, nil)
	ts.Check(err)
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
		ts.Fatalf("DELETE %s: HTTP %d (is storage.delete.enabled set?)", u, resp.StatusCode)
	}
	ts.Setenv("BLOB", digest)
}

const gitDaemonUsage = "git-daemon [-push] NAME DIR"

// cmdGitDaemon serves the repositories under DIR with `git daemon` on
// 127.0.0.1 and sets $NAME to "git://127.0.0.1:PORT"; the script's end
// stops it. -push enables receive-pack: pushes are accepted.
func cmdGitDaemon(ts *testscript.TestScript, neg bool, args []string) {
	push := len(args) > 0 && args[0] == "-push"
	if push {
		args = args[1:]
	}
	if len(args) != 2 || neg {
		ts.Fatalf("usage: %s", gitDaemonUsage)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := ts.MkAbs(args[1])
	daemonArgs := []string{"daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", "--port=" + strconv.Itoa(port), "--base-path=" + dir}
	if push {
		daemonArgs = append(daemonArgs, "--enable=receive-pack")
	}
	cmd := exec.Command("git", append(daemonArgs, dir)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = os.Environ()
	// `git daemon` runs git-daemon as a child: kill the whole group, or
	// the child outlives the script holding the output pipe.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	ts.Check(cmd.Start())
	ts.Defer(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			ts.Fatalf("git daemon did not listen on port %d: %s", port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Setenv(args[0], "git://127.0.0.1:"+strconv.Itoa(port))
}

const healthServerUsage = "health-server NAME STATUS"

// cmdHealthServer serves STATUS for every request on 127.0.0.1 and sets
// $NAME to its URL; the script's end stops it.
func cmdHealthServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: %s", healthServerUsage)
	}
	code, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("usage: %s: %q is not a status", healthServerUsage, args[1])
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	ts.Defer(func() { srv.Close() })
	ts.Setenv(args[0], "http://"+ln.Addr().String()+"/health")
}
