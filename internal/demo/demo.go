package demo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Registry is an in-process registry on 127.0.0.1, spoken to over plain
// HTTP. It holds everything in memory and forgets it on Close.
type Registry struct {
	Addr string // host:port
	srv  *http.Server
}

// StartRegistry starts a Registry on a free port.
func StartRegistry() (*Registry, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening on 127.0.0.1: %w", err)
	}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return &Registry{Addr: ln.Addr().String(), srv: srv}, nil
}

// Close stops the registry.
func (r *Registry) Close() error { return r.srv.Close() }

// Image is a build to push: its config labels and creation time, and a
// seed for its one layer. The same Image always has the same digest.
type Image struct {
	Labels  map[string]string
	Created time.Time
	Seed    string
}

// Push pushes img to ref ("127.0.0.1:PORT/repo:tag", plain HTTP) as a
// linux/amd64 OCI image, and returns its manifest digest.
func Push(ctx context.Context, ref string, img Image) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("parsing reference %q: %w", ref, err)
	}
	built, err := build(img)
	if err != nil {
		return "", fmt.Errorf("building %q: %w", ref, err)
	}
	if err := remote.Write(r, built, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("pushing %q: %w", ref, err)
	}
	d, err := built.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

func build(spec Image) (v1.Image, error) {
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	b, err := Layer(spec.Seed+"|linux/amd64|0", 64)
	if err != nil {
		return nil, err
	}
	if img, err = mutate.AppendLayers(img, static.NewLayer(b, types.OCILayer)); err != nil {
		return nil, fmt.Errorf("adding layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Created = v1.Time{Time: spec.Created}
	cf.Config.Labels = spec.Labels
	return mutate.ConfigFile(img, cf)
}

// Layer is a gzipped tar holding one file of size bytes whose content
// derives from seed: a real layer an engine could unpack, identical on every
// run. The test fixtures build their layers with it too, so the demo's
// images and the suites' are made the same way.
func Layer(seed string, size int) ([]byte, error) {
	content := make([]byte, 0, size)
	block := sha256.Sum256([]byte(seed))
	for len(content) < size {
		content = append(content, block[:]...)
		block = sha256.Sum256(block[:])
	}
	content = content[:size]
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	hdr := &tar.Header{Name: "fixture.bin", Mode: 0o644, Size: int64(size), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(content); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(tarBuf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}
