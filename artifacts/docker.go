package artifacts

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/client"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	bkclient "github.com/moby/buildkit/client"
	"github.com/moby/buildkit/frontend/dockerfile/builder"
	"github.com/moby/buildkit/util/progress/progressui"
	"github.com/tonistiigi/fsutil"
	"golang.org/x/sync/errgroup"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/lkg-dev/lkg/types"
)

// Errors of the Docker engine side, matched with errors.Is.
var (
	// ErrEngineUnavailable: no Docker engine answers at DOCKER_HOST (or the
	// default socket). The message says how to start one.
	ErrEngineUnavailable = errors.New("docker engine not reachable")
	// ErrBuildFailed: the engine ran the build and it failed; the wrapping
	// error carries the build's own message.
	ErrBuildFailed = errors.New("docker build failed")
	// ErrNoDockerfile: the build context has no Dockerfile at the given path.
	ErrNoDockerfile = errors.New("dockerfile not found")
	// ErrPushFailed: the engine accepted the push request but reported an
	// error inside its progress stream (the HTTP status is 200 regardless).
	ErrPushFailed = errors.New("docker push failed")
	// ErrNoBuildKit: the engine cannot build with BuildKit (too old, or
	// BuildKit is off); the message says which and what to do. lkg does
	// not fall back to the classic builder, which cannot build heredocs
	// or RUN --mount.
	ErrNoBuildKit = errors.New("docker engine cannot build with BuildKit")
)

// Revision labels lkg writes on the images it builds (OCI image spec
// annotation keys, used as labels as docker buildx does).
const (
	LabelRevision = "org.opencontainers.image.revision"
	LabelSource   = "org.opencontainers.image.source"
)

// EngineOption configures NewEngine.
type EngineOption func(*engineOptions)

type engineOptions struct {
	host     string
	keychain authn.Keychain
	jobs     int
	timeout  time.Duration
	tracer   *Tracer
}

// WithEngineHost sets the engine address ("unix:///path", "tcp://h:p").
// The default is DOCKER_HOST, else the platform's default socket.
func WithEngineHost(host string) EngineOption {
	return func(o *engineOptions) { o.host = host }
}

// WithEngineKeychain sets where push credentials come from. The default is
// authn.DefaultKeychain: the Docker config and its credential helpers.
func WithEngineKeychain(k authn.Keychain) EngineOption {
	return func(o *engineOptions) { o.keychain = k }
}

// WithEngineJobs bounds how many images Images inspects at once. The
// default is 8.
func WithEngineJobs(n int) EngineOption {
	return func(o *engineOptions) { o.jobs = max(n, 1) }
}

// WithEngineTimeout bounds how long the engine may take to start answering
// a request (its response headers); 0 means no bound. A build or a push
// streams its progress for as long as it takes. The default is 30 seconds.
func WithEngineTimeout(d time.Duration) EngineOption {
	return func(o *engineOptions) { o.timeout = d }
}

// WithEngineTrace traces every request to the engine to t: method,
// redacted URL, status and time. The default is no trace. An engine
// reached over TLS (DOCKER_CERT_PATH) is not traced and has no timeout but
// the ping's: the docker client replaces the HTTP client for it.
func WithEngineTrace(t *Tracer) EngineOption {
	return func(o *engineOptions) { o.tracer = t }
}

// Engine is a connection to the local Docker engine.
type Engine struct {
	cli  *client.Client
	opts engineOptions
}

// NewEngine connects to the Docker engine named by DOCKER_HOST (and the
// other DOCKER_* variables), negotiating the API version down to what the
// engine speaks (Debian's docker.io 20.10 speaks 1.41). It pings the engine
// once: an engine that does not answer gives ErrEngineUnavailable.
func NewEngine(ctx context.Context, opts ...EngineOption) (*Engine, error) {
	o := engineOptions{keychain: authn.DefaultKeychain, jobs: 8, timeout: 30 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	// lkg's own HTTP client, so that its transport carries the timeout and
	// the trace; the options after it point it at the engine's socket.
	base := &http.Transport{ResponseHeaderTimeout: o.timeout}
	hc := &http.Client{Transport: base, CheckRedirect: client.CheckRedirect}
	host := cmp.Or(o.host, os.Getenv(client.EnvOverrideHost), client.DefaultDockerHost)
	copts := []client.Opt{client.WithHTTPClient(hc), client.FromEnv, client.WithHost(host), client.WithAPIVersionNegotiation()}
	cli, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return nil, fmt.Errorf("connecting to the docker engine: %w: %w", ErrEngineUnavailable, err)
	}
	if cli.HTTPClient().Transport == hc.Transport {
		hc.Transport = o.tracer.transport("engine", hc.Transport)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping, err := cli.Ping(pctx)
	if err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connecting to the docker engine at %s: %w: start dockerd (systemctl start docker) or set DOCKER_HOST to a running engine", cli.DaemonHost(), ErrEngineUnavailable)
	}
	cli.NegotiateAPIVersionPing(ping)
	return &Engine{cli: cli, opts: o}, nil
}

// Close releases the engine connection.
func (e *Engine) Close() error { return e.cli.Close() }

// Host is the engine address in use.
func (e *Engine) Host() string { return e.cli.DaemonHost() }

// APIVersion is the negotiated engine API version.
func (e *Engine) APIVersion() string { return e.cli.ClientVersion() }

// Client is the engine's API client, for the packages that drive
// containers and services through it (the deploy targets); they keep to
// the connection, timeout and trace NewEngine set up.
func (e *Engine) Client() *client.Client { return e.cli }

// Pull pulls ref ("host/repo@sha256:..." or "host/repo:tag") into the
// engine, like `docker pull`, with the keychain's credentials. Progress
// lines go to progress when it is not nil. An error reported inside the
// engine's stream fails the pull.
func (e *Engine) Pull(ctx context.Context, ref string, progress io.Writer) error {
	auth, err := e.registryAuth(ref)
	if err != nil {
		return fmt.Errorf("pulling %q: %w", ref, err)
	}
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return fmt.Errorf("pulling %q: %w", ref, e.classify(err))
	}
	defer rc.Close()
	err = readStream(rc, func(m *streamMessage) {
		if progress != nil && m.Status != "" && m.Progress == "" {
			fmt.Fprintln(progress, m.Status)
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("pulling %q: %w", ref, err)
	}
	return nil
}

// Resolve asks the engine for the manifest digest ref has in its registry,
// without pulling (`docker manifest inspect` through the engine): whether
// the engine, not lkg, can reach the build.
func (e *Engine) Resolve(ctx context.Context, ref string) (string, error) {
	auth, err := e.registryAuth(ref)
	if err != nil {
		return "", fmt.Errorf("resolving %q: %w", ref, err)
	}
	d, err := e.cli.DistributionInspect(ctx, ref, auth)
	if err != nil {
		return "", fmt.Errorf("resolving %q through the engine: %w", ref, e.classify(err))
	}
	return d.Descriptor.Digest.String(), nil
}

// Images lists the engine's images with the evidence the finder needs:
// labels, tags, creation time and platform. Repo is always empty; Image is
// the first "repo:tag" (or the short image ID for an untagged image);
// Digest is the first repository digest when the image was pushed or
// pulled, else the image ID; Tags are the tag parts of every name.
func (e *Engine) Images(ctx context.Context) ([]types.Artifact, error) {
	list, err := e.cli.ImageList(ctx, image.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing docker images: %w", e.classify(err))
	}
	out := make([]types.Artifact, len(list))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.opts.jobs)
	for i, s := range list {
		out[i] = summaryImage(s)
		g.Go(func() error {
			// The list has neither the platform nor a precise creation
			// time; one inspect per image gives both.
			ins, err := e.cli.ImageInspect(gctx, s.ID)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				return nil // removed meanwhile: keep what the list said
			}
			if t, err := time.Parse(time.RFC3339Nano, ins.Created); err == nil {
				out[i].Created = t
			}
			if ins.Os != "" {
				p := ins.Os + "/" + ins.Architecture
				if ins.Variant != "" {
					p += "/" + ins.Variant
				}
				out[i].Platforms = []string{p}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("inspecting docker images: %w", e.classify(err))
	}
	return out, nil
}

// summaryImage turns one image list entry into an Artifact.
func summaryImage(s image.Summary) types.Artifact {
	img := types.Artifact{
		Source:  types.SourceDocker,
		Digest:  s.ID,
		Labels:  s.Labels,
		Created: time.Unix(s.Created, 0).UTC(),
	}
	for _, rd := range s.RepoDigests {
		if r, err := imageref.Parse(rd); err == nil && r.Digest() != "" {
			img.Digest = r.Digest()
			break
		}
	}
	for _, rt := range s.RepoTags {
		if rt == "<none>:<none>" {
			continue
		}
		if img.Image == "" {
			img.Image = rt
		}
		if r, err := imageref.Parse(rt); err == nil && r.Tag() != "" {
			img.Tags = appendUnique(img.Tags, r.Tag())
		}
	}
	if img.Image == "" {
		img.Image = strings.TrimPrefix(s.ID, "sha256:")
		if len(img.Image) > 12 {
			img.Image = img.Image[:12]
		}
	}
	sort.Strings(img.Tags)
	return img
}

// ImageID is the ID ("sha256:...") of the local image ref (a name, a
// "name@digest" or an ID).
func (e *Engine) ImageID(ctx context.Context, ref string) (string, error) {
	ins, err := e.cli.ImageInspect(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("inspecting %q: %w", ref, e.classify(err))
	}
	return ins.ID, nil
}

// Remove deletes the local image ref, like `docker rmi --force`: given an
// image ID, every name of that image goes with it.
func (e *Engine) Remove(ctx context.Context, ref string) error {
	if _, err := e.cli.ImageRemove(ctx, ref, image.RemoveOptions{Force: true, PruneChildren: true}); err != nil {
		return fmt.Errorf("removing %q: %w", ref, e.classify(err))
	}
	return nil
}

// Tag gives the local image source (a name or an image ID) the name
// target ("host/repo:tag"), like `docker tag`.
func (e *Engine) Tag(ctx context.Context, source, target string) error {
	if err := e.cli.ImageTag(ctx, source, target); err != nil {
		return fmt.Errorf("tagging %q as %q: %w", source, target, e.classify(err))
	}
	return nil
}

// Push pushes ref ("host/repo:tag") through the engine, like `docker
// push`, and returns the manifest digest the registry stored. Progress
// lines go to progress when it is not nil. An error reported inside the
// engine's JSON stream (the HTTP answer is 200 either way) gives
// ErrPushFailed with the engine's message.
func (e *Engine) Push(ctx context.Context, ref string, progress io.Writer) (string, error) {
	auth, err := e.registryAuth(ref)
	if err != nil {
		return "", fmt.Errorf("pushing %q: %w", ref, err)
	}
	rc, err := e.cli.ImagePush(ctx, ref, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return "", fmt.Errorf("pushing %q: %w", ref, e.classify(err))
	}
	defer rc.Close()
	var digest string
	err = readStream(rc, func(m *streamMessage) {
		if m.Aux != nil {
			var aux struct{ Digest string }
			if json.Unmarshal(*m.Aux, &aux) == nil && aux.Digest != "" {
				digest = aux.Digest
			}
		}
		if progress != nil && m.Status != "" && m.Progress == "" {
			if m.ID != "" {
				fmt.Fprintf(progress, "%s: %s\n", m.ID, m.Status)
			} else {
				fmt.Fprintln(progress, m.Status)
			}
		}
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		var se *streamError
		if errors.As(err, &se) {
			return "", fmt.Errorf("pushing %q: %w: %s", ref, ErrPushFailed, se.msg)
		}
		return "", fmt.Errorf("pushing %q: %w", ref, err)
	}
	if digest == "" {
		return "", fmt.Errorf("pushing %q: %w: the engine reported no digest", ref, ErrPushFailed)
	}
	return digest, nil
}

// registryAuth encodes the keychain's credentials for ref's registry the
// way the engine's X-Registry-Auth header wants them.
func (e *Engine) registryAuth(ref string) (string, error) {
	var nopts []name.Option
	if host, _, _ := strings.Cut(ref, "/"); isLoopback(hostOnly(host)) {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return "", fmt.Errorf("parsing %q: %w", ref, err)
	}
	a, err := e.opts.keychain.Resolve(r.Context().Registry)
	if err != nil {
		return "", fmt.Errorf("reading credentials for %s: %w", r.Context().RegistryStr(), err)
	}
	cfg, err := a.Authorization()
	if err != nil {
		return "", fmt.Errorf("reading credentials for %s: %w", r.Context().RegistryStr(), err)
	}
	if *cfg == (authn.AuthConfig{}) {
		return "", nil
	}
	return registry.EncodeAuthConfig(registry.AuthConfig{
		Username:      cfg.Username,
		Password:      cfg.Password,
		Auth:          cfg.Auth,
		IdentityToken: cfg.IdentityToken,
		RegistryToken: cfg.RegistryToken,
		ServerAddress: r.Context().RegistryStr(),
	})
}

// BuildRequest is one image build.
type BuildRequest struct {
	// ContextDir is the build context on disk.
	ContextDir string
	// Dockerfile is the Dockerfile's path relative to ContextDir (like
	// `docker build -f`); "" means "Dockerfile". An absolute path may lie
	// outside the context.
	Dockerfile string
	// BuildArgs are --build-arg values.
	BuildArgs map[string]string
	// Labels are added to the image config (like --label).
	Labels map[string]string
	// Tags name the result ("host/repo:tag").
	Tags []string
	// Network is the network of the build's RUN steps, like `docker build
	// --network`: "" (the engine's default), "none" or "host" (which the
	// engine must allow).
	Network string
	// Output receives the build's progress and its steps' output as they
	// stream (BuildKit's plain progress); nil drops it.
	Output io.Writer
}

// minBuildKitAPI is the first engine API with BuildKit's endpoints (/grpc
// and /session): Docker 18.09.
const minBuildKitAPI = "1.39"

// Build builds an image from a context directory with the engine's
// BuildKit and returns the image ID. BuildKit's own Dockerfile frontend
// runs here, in lkg, as `docker buildx build` runs it for a remote builder:
// the engine only solves the build graph it is given. So heredocs and
// RUN --mount build on every engine with BuildKit, also Docker 20.10's,
// whose built-in frontend predates heredocs, with no frontend image to
// pull; a `# syntax=` line still picks another frontend. The context and
// the Dockerfile reach the engine through a BuildKit session over the
// engine's API. An engine without BuildKit gives ErrNoBuildKit, a failing
// build ErrBuildFailed with BuildKit's own message.
func (e *Engine) Build(ctx context.Context, req BuildRequest) (string, error) {
	dockerfile := cmp.Or(req.Dockerfile, "Dockerfile")
	if !filepath.IsAbs(dockerfile) {
		dockerfile = filepath.Join(req.ContextDir, dockerfile)
	}
	if fi, err := os.Stat(dockerfile); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("building: %w: %s", ErrNoDockerfile, cmp.Or(req.Dockerfile, "Dockerfile"))
	}
	contextFS, err := fsutil.NewFS(req.ContextDir)
	if err != nil {
		return "", fmt.Errorf("building %s: %w", req.ContextDir, err)
	}
	dockerfileFS, err := fsutil.NewFS(filepath.Dir(dockerfile))
	if err != nil {
		return "", fmt.Errorf("building %s: %w", req.ContextDir, err)
	}
	bk, err := e.buildkit(ctx)
	if err != nil {
		return "", err
	}
	defer bk.Close()

	attrs := map[string]string{"filename": filepath.Base(dockerfile)}
	for k, v := range req.BuildArgs {
		attrs["build-arg:"+k] = v
	}
	for k, v := range req.Labels {
		attrs["label:"+k] = v
	}
	opt := bkclient.SolveOpt{
		// "moby" is the engine's own exporter: the image lands in its
		// image store, as `docker build` leaves it.
		Exports:       []bkclient.ExportEntry{{Type: "moby", Attrs: map[string]string{}}},
		LocalMounts:   map[string]fsutil.FS{"context": contextFS, "dockerfile": dockerfileFS},
		FrontendAttrs: attrs,
	}
	if len(req.Tags) > 0 {
		opt.Exports[0].Attrs["name"] = strings.Join(req.Tags, ",")
	}
	switch req.Network {
	case "":
	case "host":
		opt.AllowedEntitlements = []string{"network.host"}
		fallthrough
	default:
		attrs["force-network-mode"] = req.Network
	}
	out := req.Output
	if out == nil {
		out = io.Discard
	}
	display, err := progressui.NewDisplay(out, progressui.PlainMode)
	if err != nil {
		return "", fmt.Errorf("building %s: %w", req.ContextDir, err)
	}
	status := make(chan *bkclient.SolveStatus)
	shown := make(chan struct{})
	go func() {
		defer close(shown)
		// Its error is the build's, which Build returns below.
		_, _ = display.UpdateFrom(context.WithoutCancel(ctx), status)
	}()
	resp, err := bk.Build(ctx, opt, "lkg", builder.Build, status)
	<-shown
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", fmt.Errorf("%w: %s", ErrBuildFailed, buildkitMessage(err))
	}
	// The moby exporter names the image by its ID (the config digest),
	// or its manifest digest on an engine with the containerd image
	// store: the engine says which ID it has.
	ref := resp.ExporterResponse["containerimage.digest"]
	if ref == "" {
		return "", fmt.Errorf("%w: the engine reported no image", ErrBuildFailed)
	}
	return e.ImageID(ctx, ref)
}

// buildkit connects to the engine's BuildKit: its gRPC API and its
// sessions, both reached by upgrading a request to the engine's API (as
// the docker CLI and buildx do). It asks BuildKit for its workers once,
// so that an engine without BuildKit is told from a build that fails.
func (e *Engine) buildkit(ctx context.Context) (*bkclient.Client, error) {
	api := e.cli.ClientVersion()
	if versions.LessThan(api, minBuildKitAPI) {
		return nil, fmt.Errorf("%w: the engine at %s speaks API %s, BuildKit needs %s (Docker 18.09) or newer. Upgrade the engine, or point DOCKER_HOST at one with BuildKit",
			ErrNoBuildKit, e.cli.DaemonHost(), api, minBuildKitAPI)
	}
	bk, err := bkclient.New(ctx, "",
		bkclient.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return e.cli.DialHijack(ctx, "/grpc", "h2c", nil)
		}),
		bkclient.WithSessionDialer(func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
			return e.cli.DialHijack(ctx, "/session", proto, meta)
		}))
	if err == nil {
		var workers []*bkclient.WorkerInfo
		if workers, err = bk.ListWorkers(ctx); err == nil && len(workers) == 0 {
			err = errors.New("it has no BuildKit worker")
		}
		if err != nil {
			bk.Close()
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: the engine at %s (API %s) did not answer as BuildKit: %s. Check that the engine runs BuildKit (every Linux engine since Docker 18.09 does), or point DOCKER_HOST at one that does",
			ErrNoBuildKit, e.cli.DaemonHost(), api, buildkitMessage(err))
	}
	return bk, nil
}

// buildkitMessage is a BuildKit error as one line, without the gRPC
// wrapping ("rpc error: code = Unknown desc = ").
func buildkitMessage(err error) string {
	msg := err.Error()
	if st, ok := grpcstatus.FromError(err); ok {
		msg = st.Message()
	}
	return strings.Join(strings.Fields(msg), " ")
}

// classify turns an unreachable engine into ErrEngineUnavailable.
func (e *Engine) classify(err error) error {
	if client.IsErrConnectionFailed(err) {
		return fmt.Errorf("%w at %s: %w", ErrEngineUnavailable, e.cli.DaemonHost(), err)
	}
	return err
}

// streamMessage is one line of the engine's JSON progress stream (the
// fields lkg reads of jsonmessage.JSONMessage).
type streamMessage struct {
	Stream      string                    `json:"stream"`
	Status      string                    `json:"status"`
	Progress    string                    `json:"progress"`
	ID          string                    `json:"id"`
	Error       string                    `json:"error"`
	ErrorDetail *struct{ Message string } `json:"errorDetail"`
	Aux         *json.RawMessage          `json:"aux"`
}

// streamError is an error the engine reported inside its stream.
type streamError struct{ msg string }

func (e *streamError) Error() string { return e.msg }

// readStream decodes the engine's stream, calling fn for each message,
// and stops at the first error message in it.
func readStream(r io.Reader, fn func(*streamMessage)) error {
	dec := json.NewDecoder(r)
	for {
		var m streamMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading the engine's answer: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return &streamError{msg: strings.TrimSpace(m.ErrorDetail.Message)}
		}
		if m.Error != "" {
			return &streamError{msg: strings.TrimSpace(m.Error)}
		}
		fn(&m)
	}
}
