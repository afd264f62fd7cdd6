package artifacts

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/lkg-dev/lkg/types"
)

// engineForTest connects to the engine at DOCKER_HOST. Without one the
// test skips, unless LKG_REQUIRE_INTEGRATION=1 (CI), where it fails.
func engineForTest(t *testing.T) *Engine {
	t.Helper()
	e, err := NewEngine(context.Background())
	if err != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("LKG_REQUIRE_INTEGRATION=1 but: %v", err)
		}
		t.Skipf("no docker engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestNewEngineUnavailable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nobody.sock")
	_, err := NewEngine(context.Background(), WithEngineHost("unix://"+sock))
	if !errors.Is(err, ErrEngineUnavailable) {
		t.Fatalf("err = %v, want ErrEngineUnavailable", err)
	}
	for _, want := range []string{sock, "DOCKER_HOST", "dockerd"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not mention %q", err, want)
		}
	}
}

func TestReadStream(t *testing.T) {
	tests := []struct {
		name       string
		stream     string
		wantErr    string // "" for none
		wantStatus []string
	}{
		{
			name:       "push ok",
			stream:     `{"status":"The push refers to repository [x/y]"}` + "\n" + `{"status":"Pushed","id":"abc"}` + "\n" + `{"aux":{"Tag":"t","Digest":"sha256:aa","Size":1}}`,
			wantStatus: []string{"The push refers to repository [x/y]", "Pushed", ""},
		},
		{
			name:       "error in stream",
			stream:     `{"status":"Preparing","id":"abc"}` + "\n" + `{"errorDetail":{"message":"denied: requested access to the resource is denied"},"error":"denied: requested access to the resource is denied"}` + "\n" + `{"status":"never read"}`,
			wantErr:    "denied: requested access to the resource is denied",
			wantStatus: []string{"Preparing"},
		},
		{
			name:    "bare error field",
			stream:  `{"error":"unknown: boom"}`,
			wantErr: "unknown: boom",
		},
		{
			name:    "truncated",
			stream:  `{"status":"Pushed"`,
			wantErr: "reading the engine's answer",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := readStream(strings.NewReader(tt.stream), func(m *streamMessage) { got = append(got, m.Status) })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.wantStatus) {
				t.Errorf("statuses = %q, want %q", got, tt.wantStatus)
			}
		})
	}
}

func TestSummaryImage(t *testing.T) {
	id := "sha256:" + strings.Repeat("1", 64)
	rd := "sha256:" + strings.Repeat("2", 64)
	tests := []struct {
		name string
		in   image.Summary
		want types.Artifact
	}{
		{
			name: "pushed image",
			in: image.Summary{ID: id, Created: 1700000000, Labels: map[string]string{LabelRevision: "abc"},
				RepoTags: []string{"r.example/app:v1", "app:sha-abc", "r.example/app:v1"}, RepoDigests: []string{"r.example/app@" + rd}},
			want: types.Artifact{Image: "r.example/app:v1", Digest: rd, Tags: []string{"sha-abc", "v1"},
				Labels: map[string]string{LabelRevision: "abc"}, Created: time.Unix(1700000000, 0).UTC()},
		},
		{
			name: "local build, registry with port",
			in:   image.Summary{ID: id, Created: 1, RepoTags: []string{"localhost:5000/app:dev"}},
			want: types.Artifact{Image: "localhost:5000/app:dev", Digest: id, Tags: []string{"dev"}, Created: time.Unix(1, 0).UTC()},
		},
		{
			name: "dangling",
			in:   image.Summary{ID: id, Created: 1, RepoTags: []string{"<none>:<none>"}},
			want: types.Artifact{Image: strings.Repeat("1", 12), Digest: id, Created: time.Unix(1, 0).UTC()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summaryImage(tt.in)
			if got.Source != types.SourceDocker || got.Image != tt.want.Image || got.Digest != tt.want.Digest || !slices.Equal(got.Tags, tt.want.Tags) ||
				!got.Created.Equal(tt.want.Created) || fmt.Sprint(got.Labels) != fmt.Sprint(tt.want.Labels) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// writeContext makes a build context directory from name/body pairs
// (names may hold slashes); an ELF body is made executable.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(body, "\x7fELF") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestEngineBuildPushImages(t *testing.T) {
	e := engineForTest(t)
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	nonce := fmt.Sprint(time.Now().UnixNano())
	target := host + "/lkg-test/app:" + nonce

	dir := writeContext(t, map[string]string{
		"Dockerfile": "FROM scratch\nARG SOURCE_DATE_EPOCH\nCOPY payload /payload\nLABEL epoch=$SOURCE_DATE_EPOCH\n",
		"payload":    nonce,
	})
	var out bytes.Buffer
	id, err := e.Build(ctx, BuildRequest{
		ContextDir: dir,
		BuildArgs:  map[string]string{"SOURCE_DATE_EPOCH": "1700000000"},
		Labels:     map[string]string{LabelRevision: nonce},
		Tags:       []string{target},
		Output:     &out,
	})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, out.String())
	}
	t.Cleanup(func() { e.cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true}) })
	if !strings.Contains(out.String(), "COPY payload /payload") {
		t.Errorf("build output not streamed; got %q", out.String())
	}

	images, err := e.Images(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *types.Artifact
	for i := range images {
		if images[i].Digest == id {
			found = &images[i]
		}
	}
	if found == nil {
		t.Fatalf("built image %s not in Images()", id)
	}
	if got, want := found.Labels[LabelRevision], nonce; got != want {
		t.Errorf("revision label = %q, want %q", got, want)
	}
	if got, want := found.Labels["epoch"], "1700000000"; got != want {
		t.Errorf("build arg label = %q, want %q", got, want)
	}
	if got, want := found.Tags, []string{nonce}; !slices.Equal(got, want) {
		t.Errorf("Tags = %q, want %q", got, want)
	}
	if len(found.Platforms) != 1 || !strings.HasPrefix(found.Platforms[0], "linux/") {
		t.Errorf("Platforms = %q, want one linux platform", found.Platforms)
	}

	digest, err := e.Push(ctx, target, nil)
	if err != nil {
		t.Fatalf("Push: %v", err)
	}
	ref, err := name.ParseReference(target, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if got := desc.Digest.String(); got != digest {
		t.Errorf("registry has %s, Push returned %s", got, digest)
	}
}

func TestEngineBuildErrors(t *testing.T) {
	e := engineForTest(t)
	tests := []struct {
		name  string
		files map[string]string
		req   BuildRequest
		want  error
		msg   string
	}{
		{
			name:  "failing instruction",
			files: map[string]string{"Dockerfile": "FROM scratch\nCOPY missing-file /x\n"},
			want:  ErrBuildFailed,
			msg:   "missing-file",
		},
		{
			name:  "no dockerfile",
			files: map[string]string{"README": "x"},
			want:  ErrNoDockerfile,
		},
		{
			name:  "dockerfile elsewhere",
			files: map[string]string{"Dockerfile": "FROM scratch\n"},
			req:   BuildRequest{Dockerfile: "build/Dockerfile"},
			want:  ErrNoDockerfile,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.ContextDir = writeContext(t, tt.files)
			_, err := e.Build(context.Background(), req)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestEnginePushError(t *testing.T) {
	e := engineForTest(t)
	ctx := context.Background()
	// A registry that is gone by the time the engine pushes: the engine
	// still answers 200 and reports the failure inside its stream.
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()
	target := host + "/lkg-test/push-error:x"
	id, err := e.Build(ctx, BuildRequest{ContextDir: writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nLABEL a=b\n"}), Tags: []string{target}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true}) })
	_, err = e.Push(ctx, target, nil)
	if !errors.Is(err, ErrPushFailed) {
		t.Fatalf("err = %v, want ErrPushFailed", err)
	}
}

// TestEngineBuildKit builds, through the engine's BuildKit, the two kinds of
// Dockerfile the classic builder cannot: a heredoc, and RUN --mount (an
// exec-form RUN of a static binary built here, since scratch has no
// shell). Both images carry their labels and what their steps wrote.
func TestEngineBuildKit(t *testing.T) {
	e := engineForTest(t)
	ctx := context.Background()
	nonce := fmt.Sprint(time.Now().UnixNano())
	copier := buildStatic(t, `package main

import "os"

// copier copies the file named first to the path named second.
func main() {
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := os.WriteFile(os.Args[2], b, 0o644); err != nil {
		panic(err)
	}
	os.Stdout.Write(append([]byte("copied: "), b...))
}
`)
	tests := []struct {
		name       string
		files      map[string]string
		network    string
		wantOutput string // in the streamed output
		path, want string // a file in the image and its content
	}{
		{
			name: "heredoc",
			files: map[string]string{
				"Dockerfile": "FROM scratch\nCOPY <<EOF /hello.txt\nhello from a heredoc " + nonce + "\nEOF\n",
			},
			wantOutput: "COPY <<EOF /hello.txt",
			path:       "/hello.txt",
			want:       "hello from a heredoc " + nonce + "\n",
		},
		{
			name: "RUN --mount",
			files: map[string]string{
				"Dockerfile": "FROM scratch\nCOPY copier /copier\n" +
					`RUN --mount=type=bind,source=data,target=/data ["/copier", "/data/in.txt", "/out.txt"]` + "\n",
				"copier":      copier,
				"data/in.txt": "from the mount " + nonce,
			},
			// The engine here has no bridge network.
			network:    "none",
			wantOutput: "copied: from the mount " + nonce,
			path:       "/out.txt",
			want:       "from the mount " + nonce,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			id, err := e.Build(ctx, BuildRequest{
				ContextDir: writeContext(t, tt.files),
				Labels:     map[string]string{LabelRevision: nonce},
				BuildArgs:  map[string]string{"SOURCE_DATE_EPOCH": "1700000000"},
				Network:    tt.network,
				Output:     &out,
			})
			if err != nil {
				t.Fatalf("Build: %v\n%s", err, out.String())
			}
			t.Cleanup(func() { e.cli.ImageRemove(ctx, id, image.RemoveOptions{Force: true}) })
			if !strings.Contains(out.String(), tt.wantOutput) {
				t.Errorf("output does not show %q:\n%s", tt.wantOutput, out.String())
			}
			inspect, err := e.cli.ImageInspect(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := inspect.Config.Labels[LabelRevision]; got != nonce {
				t.Errorf("revision label = %q, want %q", got, nonce)
			}
			if got := imageFile(t, e, id, tt.path); got != tt.want {
				t.Errorf("%s holds %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// TestEngineBuildNoBuildKit: an engine API too old for BuildKit is one
// clear error, not a classic build that cannot read heredocs.
func TestEngineBuildNoBuildKit(t *testing.T) {
	engineForTest(t)
	// The engine here speaks newer APIs too: pin the client to one
	// before BuildKit, as an engine older than 18.09 would.
	t.Setenv("DOCKER_API_VERSION", "1.37")
	e := engineForTest(t)
	_, err := e.Build(context.Background(), BuildRequest{
		ContextDir: writeContext(t, map[string]string{"Dockerfile": "FROM scratch\nCOPY <<EOF /x\nx\nEOF\n"}),
	})
	if !errors.Is(err, ErrNoBuildKit) {
		t.Fatalf("err = %v, want ErrNoBuildKit", err)
	}
	for _, want := range []string{"API 1.37", "1.39", "Upgrade the engine"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("message %q is more than one line", err)
	}
}

// buildStatic compiles a one-file Go program into a static Linux binary
// and returns its bytes.
func buildStatic(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"main.go": src, "go.mod": "module lkgtest\n\ngo 1.22\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command to build the test program: %v", err)
	}
	cmd := exec.Command(goTool, "build", "-o", "prog", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the test program: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "prog"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// imageFile reads one file of an image through a container created (never
// started) from it.
func imageFile(t *testing.T, e *Engine, id, path string) string {
	t.Helper()
	ctx := context.Background()
	c, err := e.cli.ContainerCreate(ctx, &container.Config{Image: id, Cmd: []string{"/none"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
	rc, _, err := e.cli.CopyFromContainer(ctx, c.ID, path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	if _, err := tr.Next(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(tr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
