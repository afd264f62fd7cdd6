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
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

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

func TestTarDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("sub/run", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tarDir(context.Background(), dir, &tarFile{name: ".lkg.Dockerfile", body: []byte("FROM scratch\n")}, &buf); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s %o %s uid=%d", h.Name, h.Mode&0o777, h.Linkname, h.Uid))
	}
	want := []string{"link 777 sub/run uid=0", "sub/ 755  uid=0", "sub/run 755  uid=0", ".lkg.Dockerfile 644  uid=0"}
	if !slices.Equal(got, want) {
		t.Errorf("tar entries:\n got %q\nwant %q", got, want)
	}
}

// writeContext makes a build context directory from name/body pairs.
func writeContext(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o644); err != nil {
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
