package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"maps"
	"net"
	"os"
	"strings"
	"time"

	ctypes "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/internal/fixture"
	"github.com/rogpeppe/go-internal/testscript"
)

// Container commands for the testscript suites: runnable images and the
// containers that run them, on the engine at DOCKER_HOST.
func init() {
	scriptCmds["server-image"] = cmdServerImage
	scriptCmds["container-run"] = cmdContainerRun
	scriptCmds["container-check"] = cmdContainerCheck
}

const serverImageUsage = "server-image [-label K=V]... [-version V] [-cmd ARG]... [-healthcheck] [-registry-only | -local] REPO:TAG"

// cmdServerImage builds a runnable image FROM scratch around a static
// HTTP server answering VERSION (fixture.ServerContext), labelled, tags
// it HOST/REPO:TAG and pushes it there through the engine; $DIGEST is the
// manifest digest, $IMAGEID the image ID. -cmd gives the image a CMD of
// server arguments (-exit=3: it exits at once). The image is removed from
// the engine when the script ends, or right after the push with
// -registry-only (a build the engine must pull). With -local it is not
// pushed at all (an engine image, REPO:TAG with no registry host), and
// $DIGEST is empty.
//
//	server-image [-label K=V]... [-version V] [-cmd ARG]... [-healthcheck] [-registry-only | -local] REPO:TAG
func cmdServerImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: %s", serverImageUsage)
	}
	fs := flag.NewFlagSet("server-image", flag.ContinueOnError)
	var labels, cmd listFlag
	fs.Var(&labels, "label", "")
	fs.Var(&cmd, "cmd", "")
	version := fs.String("version", "v1", "")
	health := fs.Bool("healthcheck", false, "")
	registryOnly := fs.Bool("registry-only", false, "")
	local := fs.Bool("local", false, "")
	rest := scriptFlags(ts, serverImageUsage, fs, args)
	if len(rest) != 1 || !strings.Contains(rest[0], ":") || (*local && *registryOnly) {
		ts.Fatalf("usage: %s", serverImageUsage)
	}
	ref := rest[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	engine, err := artifacts.NewEngine(ctx)
	if err != nil {
		ts.Fatalf("server-image: %v", err)
	}
	dir, err := os.MkdirTemp(ts.Getenv("WORK"), ".server-image-")
	if err != nil {
		ts.Fatalf("server-image: %v", err)
	}
	defer os.RemoveAll(dir)
	spec := fixture.ServerSpec{Version: *version, Labels: keyValues(ts, labels), Cmd: cmd, Healthcheck: *health}
	ts.Check(fixture.ServerContext(dir, spec))
	id, err := engine.Build(ctx, artifacts.BuildRequest{ContextDir: dir, Tags: []string{ref}})
	if err != nil {
		engine.Close()
		ts.Fatalf("server-image %s: %v", ref, err)
	}
	// By name, never by ID: scripts that run side by side build the same
	// deterministic image under their own names, and removing it by ID
	// would take the other script's names (or fail on its container).
	ts.Defer(func() {
		defer engine.Close()
		_ = engine.Remove(context.Background(), ref)
	})
	ts.Setenv("IMAGEID", id)
	if *local {
		ts.Setenv("DIGEST", "")
		return
	}
	digest, err := engine.Push(ctx, ref, nil)
	if err != nil {
		ts.Fatalf("server-image %s: %v", ref, err)
	}
	if *registryOnly {
		ts.Check(engine.Remove(ctx, ref))
	}
	ts.Setenv("DIGEST", digest)
}

const containerRunUsage = "container-run [-e K=V]... [-label K=V]... VAR NAME IMAGE"

// cmdContainerRun runs IMAGE as a user would, `docker run -d --name
// NAME-<random> --network host --restart unless-stopped -e LISTEN=ADDR
// -e K=V... --label team=payments --label K=V... IMAGE`, and sets $VAR to the name and
// $VAR_ADDR to the address its server listens on (host networking: a
// free port of its own). The container, and every container named after
// it, is removed when the script ends.
//
//	container-run [-e K=V]... [-label K=V]... VAR NAME IMAGE
func cmdContainerRun(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: %s", containerRunUsage)
	}
	fs := flag.NewFlagSet("container-run", flag.ContinueOnError)
	var env, labels listFlag
	fs.Var(&env, "e", "")
	fs.Var(&labels, "label", "")
	rest := scriptFlags(ts, containerRunUsage, fs, args)
	if len(rest) != 3 {
		ts.Fatalf("usage: %s", containerRunUsage)
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := rest[1] + "-" + hex.EncodeToString(b)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("container-run: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx := context.Background()
	engine, err := artifacts.NewEngine(ctx)
	if err != nil {
		ts.Fatalf("container-run: %v", err)
	}
	cli := engine.Client()
	ts.Defer(func() {
		defer engine.Close()
		list, _ := cli.ContainerList(context.Background(), ctypes.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", "^/"+name))})
		for _, c := range list {
			_ = cli.ContainerRemove(context.Background(), c.ID, ctypes.RemoveOptions{Force: true})
		}
	})
	cfg := &ctypes.Config{Image: rest[2], Env: append([]string{"LISTEN=" + addr}, env...), Labels: map[string]string{"team": "payments"}}
	maps.Copy(cfg.Labels, keyValues(ts, labels))
	host := &ctypes.HostConfig{NetworkMode: "host", RestartPolicy: ctypes.RestartPolicy{Name: ctypes.RestartPolicyUnlessStopped}}
	resp, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		ts.Fatalf("container-run: %v", err)
	}
	if err := cli.ContainerStart(ctx, resp.ID, ctypes.StartOptions{}); err != nil {
		ts.Fatalf("container-run: %v", err)
	}
	ts.Setenv(rest[0], name)
	ts.Setenv(rest[0]+"_ADDR", addr)
}

const containerCheckUsage = "container-check NAME ADDR VERSION"

// cmdContainerCheck checks that exactly one container runs under NAME
// (none of the NAME-lkg-old-* kept during a move runs too) and that its
// server at ADDR answers VERSION, waiting up to 10 seconds for that; it
// prints every container named after NAME, running or not, one per line,
// as "NAME STATE".
//
//	container-check NAME ADDR VERSION
func cmdContainerCheck(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: %s", containerCheckUsage)
	}
	name, addr, want := args[0], args[1], args[2]
	ctx := context.Background()
	engine, err := artifacts.NewEngine(ctx)
	if err != nil {
		ts.Fatalf("container-check: %v", err)
	}
	defer engine.Close()
	cli := engine.Client()
	var running []string
	var listed strings.Builder
	got := ""
	for range 50 {
		list, err := cli.ContainerList(ctx, ctypes.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("name", "^/"+name))})
		if err != nil {
			ts.Fatalf("container-check: %v", err)
		}
		running, got = nil, fixture.Answer(addr)
		listed.Reset()
		for _, c := range list {
			n := strings.TrimPrefix(c.Names[0], "/")
			listed.WriteString(n + " " + c.State + "\n")
			if c.State == "running" || c.State == "restarting" {
				running = append(running, n)
			}
		}
		if len(running) == 1 && running[0] == name && got == want {
			ts.Stdout().Write([]byte(listed.String()))
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	ts.Fatalf("container-check: running %v, answering %q; want only %s, answering %q\n%s", running, got, name, want, listed.String())
}
