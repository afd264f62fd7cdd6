package scan_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/scan"
	"github.com/lkg-dev/lkg/types"
)

// mustRepo makes a repository with one commit per tag, a day apart, and
// returns it opened with no network, with each tag's commit hash.
func mustRepo(tb testing.TB, tags ...string) (*gitops.Repo, map[string]string) {
	tb.Helper()
	dir := tb.TempDir()
	r, err := git.PlainInit(dir, false)
	if err != nil {
		tb.Fatal(err)
	}
	wt, err := r.Worktree()
	if err != nil {
		tb.Fatal(err)
	}
	hashes := map[string]string{}
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	for i, tag := range tags {
		if err := os.WriteFile(filepath.Join(dir, "app.txt"), []byte(tag+"\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
		if _, err := wt.Add("app.txt"); err != nil {
			tb.Fatal(err)
		}
		sig := &object.Signature{Name: "Ada", Email: "ada@example.com", When: at.Add(time.Duration(i) * 24 * time.Hour)}
		h, err := wt.Commit("release "+tag, &git.CommitOptions{Author: sig, Committer: sig})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := r.CreateTag(tag, h, &git.CreateTagOptions{Tagger: sig, Message: tag}); err != nil {
			tb.Fatal(err)
		}
		hashes[tag] = h.String()
	}
	repo, err := gitops.Open(dir, gitops.WithNoFetch(true), gitops.WithCacheDir(""))
	if err != nil {
		tb.Fatal(err)
	}
	return repo, hashes
}

// fakeRegistry serves artifacts by tag.
type fakeRegistry struct {
	name string
	arts map[string]types.Artifact
	err  error
}

func (f *fakeRegistry) Name() string { return f.name }

func (f *fakeRegistry) Tags(ctx context.Context) ([]string, error) {
	if f.err != nil {
		return nil, f.err
	}
	var tags []string
	for t := range f.arts {
		tags = append(tags, t)
	}
	return tags, nil
}

func (f *fakeRegistry) Inspect(ctx context.Context, tag string, pinned bool) (types.Artifact, error) {
	if f.err != nil {
		return types.Artifact{}, f.err
	}
	a, ok := f.arts[tag]
	if !ok {
		return types.Artifact{}, errors.New("no such tag")
	}
	return a, nil
}

// build is a registry artifact recording rev, created at.
func build(repo, tag, rev, digest string, at time.Time) types.Artifact {
	return types.Artifact{
		Source:  types.SourceRegistry,
		Repo:    repo,
		Image:   repo + ":" + tag,
		Digest:  digest,
		Tags:    []string{tag},
		Labels:  map[string]string{finder.LabelOCIRevision: rev},
		Created: at,
	}
}

func registries(regs ...*fakeRegistry) scan.Option {
	return scan.WithRepository(func(name string) (finder.Registry, error) {
		for _, r := range regs {
			if r.name == name {
				return r, nil
			}
		}
		return nil, errors.New("no such registry")
	})
}

func TestFindNewestGoodBeforeBad(t *testing.T) {
	repo, h := mustRepo(t, "v1.0.0", "v1.1.0", "v1.2.0")
	reg := &fakeRegistry{name: "reg.example.com/shop/api", arts: map[string]types.Artifact{
		"sha-a": build("reg.example.com/shop/api", "sha-a", h["v1.0.0"], "sha256:a", time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)),
		"sha-b": build("reg.example.com/shop/api", "sha-b", h["v1.1.0"], "sha256:b", time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)),
		"sha-c": build("reg.example.com/shop/api", "sha-c", h["v1.2.0"], "sha256:c", time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)),
	}}
	res, err := scan.Find(context.Background(), repo, scan.WithImages(reg.name), registries(reg), scan.WithGoodTags("v*"), scan.WithBad("v1.2.0"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Best == nil || res.Best.Digest != "sha256:b" {
		t.Fatalf("best = %+v, want sha256:b", res.Best)
	}
	if got, want := len(res.Good), 2; got != want {
		t.Errorf("len(good) = %d, want %d", got, want)
	}
}

func TestFindBadInput(t *testing.T) {
	repo, _ := mustRepo(t, "v1.0.0")
	tests := []struct {
		name string
		opts []scan.Option
	}{
		{"depth", []scan.Option{scan.WithDepth(0)}},
		{"same good and bad", []scan.Option{scan.WithGood("v1.0.0"), scan.WithBad("v1.0.0")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := scan.Find(context.Background(), repo, tt.opts...)
			var ie *scan.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("Find = %v, want an *InputError", err)
			}
		})
	}
}

func TestCheckImage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"reg.example.com/shop/api", ""},
		{"127.0.0.1:5000/shop/api", ""},
		{"localhost/shop/api", ""},
		{"shop/api", `--image "shop/api" names no registry host: write HOST/REPO, like registry.example.com/shop/api (for Docker Hub: docker.io/shop/api)`},
		{"api", `--image "api" names no registry host: write HOST/REPO, like registry.example.com/api (for Docker Hub: docker.io/api)`},
		{"reg.example.com/shop/api:v1", `--image "reg.example.com/shop/api:v1" has a tag: --image takes a repository (find reads every tag); write reg.example.com/shop/api`},
		{"127.0.0.1:5000/shop/api@sha256:ab", `--image "127.0.0.1:5000/shop/api@sha256:ab" has a digest: --image takes a repository (find reads every tag); write 127.0.0.1:5000/shop/api`},
		{"https://reg.example.com/shop/api", `--image "https://reg.example.com/shop/api" is a URL: name the repository without a scheme; write reg.example.com/shop/api`},
	}
	for _, tt := range tests {
		got := ""
		if err := scan.CheckImage(tt.in); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckImage(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	tests := []struct{ in, want string }{
		{"reg.example.com/shop/api:prod", ""},
		{"127.0.0.1:5000/shop/api:prod", ""},
		{"shop/api:prod", `--to "shop/api:prod" names no registry host: want HOST/REPO:TAG, like registry.example.com/shop/api:prod`},
		{"reg.example.com/shop/api", `--to "reg.example.com/shop/api" has no tag: want HOST/REPO:TAG, like reg.example.com/shop/api:prod`},
		{"127.0.0.1:5000/shop/api", `--to "127.0.0.1:5000/shop/api" has no tag: want HOST/REPO:TAG, like 127.0.0.1:5000/shop/api:prod`},
		{"reg.example.com/shop/api@sha256:ab", `--to "reg.example.com/shop/api@sha256:ab" has a digest: lkg moves a tag; want HOST/REPO:TAG, like reg.example.com/shop/api:prod`},
		{"reg.example.com/shop/api:", `--to "reg.example.com/shop/api:" has an empty tag: want HOST/REPO:TAG, like reg.example.com/shop/api:prod`},
		{"https://reg.example.com/shop/api:prod", `--to "https://reg.example.com/shop/api:prod" is a URL: name the tag without a scheme; write reg.example.com/shop/api:prod`},
	}
	for _, tt := range tests {
		got := ""
		if err := scan.CheckTarget(tt.in); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckTarget(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// deadEngine is an engine that cannot be reached.
func deadEngine(ctx context.Context) (scan.Engine, error) {
	return nil, errors.New("docker engine not reachable")
}

func TestFindEngineDown(t *testing.T) {
	repo, h := mustRepo(t, "v1.0.0")
	reg := &fakeRegistry{name: "reg.example.com/shop/api", arts: map[string]types.Artifact{
		"sha-a": build("reg.example.com/shop/api", "sha-a", h["v1.0.0"], "sha256:a", time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)),
	}}
	var warned []error
	opts := []scan.Option{scan.WithGood("v1.0.0"), scan.WithDocker(true), scan.WithEngine(deadEngine), scan.WithWarn(func(err error) { warned = append(warned, err) })}

	// A registry answered: the engine is a warning.
	res, err := scan.Find(context.Background(), repo, append(opts, scan.WithImages(reg.name), registries(reg))...)
	if err != nil {
		t.Fatalf("Find with a registry that answered = %v, want no error", err)
	}
	if res.Best == nil || res.Best.Digest != "sha256:a" {
		t.Errorf("best = %+v, want sha256:a", res.Best)
	}
	if len(warned) != 1 || len(res.Warnings) != 1 {
		t.Errorf("warned %v, warnings %q: want the engine once in each", warned, res.Warnings)
	}

	// Nothing else to look in: the engine is the error.
	if _, err := scan.Find(context.Background(), repo, opts...); err == nil {
		t.Error("Find with only a dead engine = nil error, want the engine's")
	}

	// Both dead: both in the error.
	dead := &fakeRegistry{name: "reg.example.com/dead", err: errors.New("registry unreachable")}
	_, err = scan.Find(context.Background(), repo, append(opts, scan.WithImages(dead.name), registries(dead))...)
	if err == nil || !strings.Contains(err.Error(), "registry unreachable") || !strings.Contains(err.Error(), "engine not reachable") {
		t.Errorf("Find with everything dead = %v, want both failures", err)
	}
}

func TestFindBadFromProduction(t *testing.T) {
	repo, h := mustRepo(t, "v1.0.0", "v1.1.0", "v1.2.0")
	name := "reg.example.com/shop/api"
	reg := &fakeRegistry{name: name, arts: map[string]types.Artifact{
		"sha-a": build(name, "sha-a", h["v1.0.0"], "sha256:a", time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)),
		"sha-b": build(name, "sha-b", h["v1.1.0"], "sha256:b", time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)),
		"sha-c": build(name, "sha-c", h["v1.2.0"], "sha256:c", time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)),
		"prod":  build(name, "prod", h["v1.2.0"], "sha256:c", time.Date(2026, 11, 3, 11, 0, 0, 0, time.UTC)),
	}}
	opts := []scan.Option{scan.WithImages(name), registries(reg), scan.WithGoodTags("v*")}

	res, err := scan.Find(context.Background(), repo, append(opts, scan.WithTarget(name+":prod"))...)
	if err != nil {
		t.Fatal(err)
	}
	want := finder.Bad{Ref: "v1.2.0", Commit: h["v1.2.0"], From: "production tag " + name + ":prod"}
	if res.Bad == nil || *res.Bad != want {
		t.Errorf("bad = %+v, want %+v", res.Bad, want)
	}
	if res.Best == nil || res.Best.GoodTag != "v1.1.0" || res.Assumed {
		t.Errorf("best %+v (assumed %v), want v1.1.0's build, not assumed", res.Best, res.Assumed)
	}

	// --bad wins over production.
	res, err = scan.Find(context.Background(), repo, append(opts, scan.WithTarget(name+":prod"), scan.WithBad("v1.1.0"))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad == nil || res.Bad.From != "--bad" || res.Best.GoodTag != "v1.0.0" {
		t.Errorf("with --bad: bad %+v, best %s, want --bad and v1.0.0", res.Bad, res.Best.GoodTag)
	}

	// Neither: assumed, and said.
	res, err = scan.Find(context.Background(), repo, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad != nil || !res.Assumed || res.Best.GoodTag != "v1.2.0" {
		t.Errorf("neither: bad %+v, assumed %v, best %s; want nil, true, v1.2.0", res.Bad, res.Assumed, res.Best.GoodTag)
	}
	if len(res.Warnings) == 0 || !strings.HasPrefix(res.Warnings[0], "no bad deploy named: assuming the newest tag v1.2.0 is good") {
		t.Errorf("warnings %q, want the assumption first", res.Warnings)
	}

	// Production already runs the --good commit: nothing is bad.
	res, err = scan.Find(context.Background(), repo, append(opts, scan.WithTarget(name+":prod"), scan.WithGood("v1.2.0"))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad != nil || res.Best == nil || res.Best.GoodTag != "v1.2.0" {
		t.Errorf("production at --good: bad %+v, best %+v; want no bad, v1.2.0", res.Bad, res.Best)
	}
}

func TestFindProductionRestoredByLkg(t *testing.T) {
	repo, h := mustRepo(t, "v1.0.0", "v1.1.0", "v1.2.0")
	name := "reg.example.com/shop/api"
	reg := &fakeRegistry{name: name, arts: map[string]types.Artifact{
		"sha-a": build(name, "sha-a", h["v1.0.0"], "sha256:a", time.Date(2026, 11, 1, 11, 0, 0, 0, time.UTC)),
		"sha-b": build(name, "sha-b", h["v1.1.0"], "sha256:b", time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)),
		"prod":  build(name, "prod", h["v1.1.0"], "sha256:b", time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)),
	}}
	opts := []scan.Option{scan.WithImages(name), registries(reg), scan.WithGoodTags("v*"), scan.WithTarget(name + ":prod")}

	// lkg put sha256:b there: v1.1.0 stays the known good.
	res, err := scan.Find(context.Background(), repo, append(opts, scan.WithDeployed("sha256:b"))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad != nil || res.Best == nil || res.Best.GoodTag != "v1.1.0" || res.Assumed {
		t.Errorf("restored: bad %+v, best %+v, assumed %v; want no bad, v1.1.0, not assumed", res.Bad, res.Best, res.Assumed)
	}

	// Someone else put it there: it is the bad deploy.
	res, err = scan.Find(context.Background(), repo, append(opts, scan.WithDeployed("sha256:other"))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bad == nil || res.Bad.Ref != "v1.1.0" || res.Best == nil || res.Best.GoodTag != "v1.0.0" {
		t.Errorf("not lkg's: bad %+v, best %+v; want v1.1.0 bad, v1.0.0 best", res.Bad, res.Best)
	}
}
