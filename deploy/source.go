package deploy

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/redact"
)

// stage makes a local build pullable by digest: it builds it (a rebuild)
// or takes the engine image, pushes it through the engine under a staging
// tag "lkg-<image id>" in the target's staging repository, and returns it
// as a registry build. The target itself is moved afterwards, by its own
// compare-and-swap, so a failed or interrupted push never touches it.
func (d *deployment) stage(ctx context.Context) (Build, error) {
	repo, err := stagingRepo(d.t, d.from)
	if err != nil {
		return Build{}, err
	}
	engine, err := artifacts.NewEngine(ctx, d.o.Engine...)
	if err != nil {
		return Build{}, err
	}
	defer engine.Close()
	image := d.build.Image
	if d.rebuild != nil {
		if image, err = d.buildWith(ctx, engine); err != nil {
			return Build{}, err
		}
	}
	id, err := engine.ImageID(ctx, image)
	if err != nil {
		return Build{}, err
	}
	staging := repo + ":lkg-" + strings.TrimPrefix(id, "sha256:")[:12]
	if err := engine.Tag(ctx, image, staging); err != nil {
		return Build{}, err
	}
	fmt.Fprintf(d.o.Log, "lkg: pushing %s through the engine\n", staging)
	dg, err := engine.Push(ctx, staging, nil)
	if err != nil {
		return Build{}, err
	}
	return Build{Image: repo + "@" + dg, Digest: dg, GoodTag: d.build.GoodTag}, nil
}

// stagingRepo is where a local build is pushed before it moves to t: the
// target's own choice, else the repository of the image it runs now.
func stagingRepo(t Target, cur State) (string, error) {
	if s, ok := t.(Stager); ok {
		return s.StagingRepo(cur)
	}
	if cur.Image != "" {
		if ref, err := name.ParseReference(cur.Image); err == nil {
			return ref.Context().Name(), nil
		}
	}
	return "", errs.Hinted(fmt.Errorf("%s runs no registry image lkg could push a local build to", t),
		"Push the build to a registry first, then deploy it with --digest")
}

// buildLocal builds the good commit with the engine, for a target that
// runs local images; it returns the image ID.
func (d *deployment) buildLocal(ctx context.Context) (string, error) {
	engine, err := artifacts.NewEngine(ctx, d.o.Engine...)
	if err != nil {
		return "", err
	}
	defer engine.Close()
	return d.buildWith(ctx, engine)
}

// buildWith exports the good commit's tree and builds it; it returns the
// image ID.
func (d *deployment) buildWith(ctx context.Context, engine *artifacts.Engine) (string, error) {
	good := d.rebuild
	if d.o.Repo == nil {
		return "", fmt.Errorf("rebuilding %s: no repository to export commit %s from", good.Tag, short(good.Commit))
	}
	tmp, err := os.MkdirTemp("", "lkg-rebuild-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	ex, err := d.o.Repo.Export(ctx, good.Commit, filepath.Join(tmp, "src"))
	if err != nil {
		return "", err
	}
	for _, s := range ex.Submodules {
		fmt.Fprintf(d.o.Log, "lkg: warning: submodule %s is not part of the rebuild (left empty)\n", s)
	}
	spec := d.o.Build
	contextDir := filepath.Join(ex.Dir, filepath.FromSlash(spec.Context))
	dockerfile := filepath.Join(contextDir, "Dockerfile")
	shown := filepath.ToSlash(filepath.Join(spec.Context, "Dockerfile"))
	if spec.Dockerfile != "" {
		dockerfile = filepath.Join(ex.Dir, filepath.FromSlash(spec.Dockerfile))
		shown = spec.Dockerfile
	}
	if fi, err := os.Stat(dockerfile); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("rebuilding %s: %w: no %s at commit %s", good.Tag, artifacts.ErrNoDockerfile, shown, short(good.Commit))
	}
	args := map[string]string{"SOURCE_DATE_EPOCH": strconv.FormatInt(ex.Time.Unix(), 10)}
	for k, v := range spec.Args {
		args[k] = v
	}
	labels := map[string]string{artifacts.LabelRevision: good.Commit}
	if src := sourceURL(d.o.Repo); src != "" {
		labels[artifacts.LabelSource] = src
	}
	fmt.Fprintf(d.o.Log, "lkg: building %s (commit %s)\n", good.Tag, short(good.Commit))
	id, err := engine.Build(ctx, artifacts.BuildRequest{
		ContextDir: contextDir,
		Dockerfile: dockerfile,
		BuildArgs:  args,
		Labels:     labels,
		Output:     d.o.Log,
	})
	if err != nil {
		return "", fmt.Errorf("rebuilding %s (commit %s): %w", good.Tag, short(good.Commit), err)
	}
	return id, nil
}

// sourceURL is the origin remote's URL without credentials, for the
// org.opencontainers.image.source label; "" when there is none.
func sourceURL(repo *gitops.Repo) string {
	rm, err := repo.Git().Remote("origin")
	if err != nil || len(rm.Config().URLs) == 0 {
		return ""
	}
	raw := rm.Config().URLs[0]
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" {
		u.User = nil
		return redact.URL(u.String()) // and token query parameters
	}
	if strings.Contains(raw, "://") {
		return "" // unparsable URL with a scheme: it may hide credentials
	}
	return raw // scp-like git@host:path or a local path
}

// explain adds the next step to the errors of the engine and the copy.
func explain(err error, target string) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if _, ok := errors.AsType[*errs.Error](err); ok {
		return err
	}
	hints := []struct {
		err  error
		hint string
	}{
		{ErrTargetMoved, "Someone else deployed meanwhile; nothing was changed. Check with 'lkg journal' and your team, then run deploy again"},
		{artifacts.ErrDigestMismatch, "Check the registry: the tag does not hold what was just written"},
		{artifacts.ErrEngineUnavailable, ""},
		{artifacts.ErrNoDockerfile, "Name it with --dockerfile PATH (relative to the repository root), or set --context"},
		{artifacts.ErrNoBuildKit, fmt.Sprintf("%s was not changed", target)},
		{artifacts.ErrBuildFailed, fmt.Sprintf("%s was not changed", target)},
		{artifacts.ErrPushFailed, fmt.Sprintf("%s was not changed", target)},
	}
	for _, h := range hints {
		if errors.Is(err, h.err) {
			return errs.Hinted(err, h.hint)
		}
	}
	return err
}
