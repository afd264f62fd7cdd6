package gitopsfile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/imageref"
)

// Config is an environment's gitops: block.
type Config struct {
	Repo   string // the config repository: a URL or a local path, as git takes it
	Branch string // the branch Argo CD or Flux follows
	File   string // the file in it that pins the image, from the repository root
	Image  string // the image as the file names it, without tag or digest: "host/repo"
}

// Check says what is missing or wrong in c, without the network.
func (c Config) Check() error {
	switch {
	case c.Repo == "":
		return errors.New("gitops: needs repo: (the config repository's URL or path)")
	case c.Branch == "":
		return errors.New("gitops: needs branch: (the branch Argo CD or Flux follows)")
	case c.File == "" || strings.HasPrefix(c.File, "/") || strings.Contains(c.File, ".."):
		return fmt.Errorf("gitops: file: %q must be a path inside the repository", c.File)
	}
	ref, err := imageref.Parse(c.Image)
	if err != nil || ref.Tag() != "" || ref.Digest() != "" {
		return fmt.Errorf("gitops: image: %q must name the image without tag or digest, as the file does (host/repo)", c.Image)
	}
	return nil
}

// File is a config repository's file as a deploy target.
type File struct {
	c Config
	o options

	mu sync.Mutex
	s  *scratch // made on first use
}

var _ deploy.Target = (*File)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	incident func() string
}

// WithIncident names the incident in commit messages: f is asked when the
// commit is written (the journal opens the incident when the move is
// planned). The default names none.
func WithIncident(f func() string) Option {
	return func(o *options) { o.incident = f }
}

// New is c's file as a target. Nothing is fetched until the first Read.
func New(c Config, opts ...Option) *File {
	o := options{incident: func() string { return "" }}
	for _, opt := range opts {
		opt(&o)
	}
	return &File{c: c, o: o}
}

// String names the target in the journal and history:
// "gitops:REPO#BRANCH:FILE".
func (f *File) String() string {
	return "gitops:" + f.c.Repo + "#" + f.c.Branch + ":" + f.c.File
}

// Close removes the scratch repository.
func (f *File) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.s == nil {
		return nil
	}
	err := f.s.close()
	f.s = nil
	return err
}

func (f *File) scratch(ctx context.Context) (*scratch, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.s == nil {
		s, err := newScratch(ctx, f.c.Repo, f.c.Branch)
		if err != nil {
			return nil, err
		}
		f.s = s
	}
	return f.s, nil
}

// detail is State.Detail: the branch's commit the state was read at.
type detail struct {
	Commit string `json:"commit"`
}

// Read is the image the file pins at the branch's tip.
func (f *File) Read(ctx context.Context) (deploy.State, error) {
	s, err := f.scratch(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	tip, err := s.fetch(ctx)
	if err != nil {
		return deploy.State{}, fmt.Errorf("reading %s: %w", f, err)
	}
	st, _, err := f.stateAt(ctx, s, tip)
	return st, err
}

func (f *File) stateAt(ctx context.Context, s *scratch, rev string) (deploy.State, string, error) {
	content, _, err := s.read(ctx, rev, f.c.File)
	if err != nil {
		return deploy.State{}, "", fmt.Errorf("reading %s: %w", f, err)
	}
	cur, kind, err := Pinned(content, f.c.Image)
	if err != nil {
		return deploy.State{}, "", fmt.Errorf("reading %s: %w", f, err)
	}
	d, _ := json.Marshal(detail{Commit: rev})
	st := deploy.State{Image: cur, Detail: d}
	if ref, err := imageref.Parse(cur); err == nil {
		st.Digest = ref.Digest()
	}
	return st, kind, nil
}

// plan is the Plan's own part: the commit lkg pushed, once it did.
type plan struct {
	pushed string
}

// Prepare plans the commit that pins b in the file, against cur.
func (f *File) Prepare(ctx context.Context, cur deploy.State, b deploy.Build) (*deploy.Plan, error) {
	s, err := f.scratch(ctx)
	if err != nil {
		return nil, err
	}
	from := commitOf(cur)
	_, kind, err := f.stateAt(ctx, s, from)
	if err != nil {
		return nil, err
	}
	how := fmt.Sprintf("one commit to %s, %s's %s; pushed as a fast-forward", f.c.Branch, f.c.File, kind)
	if b.Local && b.Digest == "" {
		return &deploy.Plan{From: cur, To: b, How: "pushed to a registry first, then " + how}, nil
	}
	if b.Digest == "" {
		return nil, fmt.Errorf("pinning %s in %s: the build has no registry digest", b.Image, f)
	}
	to := deploy.Build{Image: f.c.Image + "@" + b.Digest, Digest: b.Digest, Restores: b.Restores, GoodTag: b.GoodTag}
	if b.Restores != nil {
		to.Image = b.Restores.Image
	}
	return &deploy.Plan{From: cur, To: to, How: how, Own: &plan{}}, nil
}

func commitOf(st deploy.State) string {
	var d detail
	_ = json.Unmarshal(st.Detail, &d)
	return d.Commit
}

// Apply commits the pin on the commit read for the plan and pushes it. A
// push refused as not a fast-forward is fetched and applied once more on
// the new tip, if the file there still names what the plan read
// (deploy.ErrTargetMoved when it does not); refused twice, it fails with
// nothing pushed.
func (f *File) Apply(ctx context.Context, p *deploy.Plan) error {
	own, ok := p.Own.(*plan)
	if !ok {
		return fmt.Errorf("pinning in %s: the plan is not a config commit", f)
	}
	s, err := f.scratch(ctx)
	if err != nil {
		return err
	}
	parent := commitOf(p.From)
	for attempt := 0; ; attempt++ {
		content, mode, err := s.read(ctx, parent, f.c.File)
		if err != nil {
			return err
		}
		cur, _, err := Pinned(content, f.c.Image)
		if err != nil {
			return fmt.Errorf("pinning in %s: %w", f, err)
		}
		if cur != p.From.Image {
			return fmt.Errorf("%s names %s at %.12s, not %s as read for the plan: %w", f, cur, parent, p.From.Image, deploy.ErrTargetMoved)
		}
		restore := ""
		if p.To.Restores != nil {
			restore = p.To.Restores.Image
		}
		out, prev, err := Pin(content, f.c.Image, p.To.Digest, restore)
		if err != nil {
			return fmt.Errorf("pinning in %s: %w", f, err)
		}
		c, err := s.commit(ctx, parent, f.c.File, mode, out, f.message(ctx, s, p, prev, parent))
		if err != nil {
			return fmt.Errorf("committing to %s: %w", f, err)
		}
		err = s.push(ctx, c)
		if err == nil {
			own.pushed = c
			return nil
		}
		if !errors.Is(err, errRejected) {
			return fmt.Errorf("pushing to %s: %w", f, err)
		}
		if attempt == 1 {
			return fmt.Errorf("pushing to %s: refused twice as not a fast-forward (someone is pushing to %s right now); nothing was pushed", f, f.c.Branch)
		}
		if parent, err = s.fetch(ctx); err != nil {
			return fmt.Errorf("fetching %s after a refused push: %w", f, err)
		}
	}
}

// message is the commit's message: what was pinned, why, and what it
// replaces; for an undo, a revert of the commit that pinned it.
func (f *File) message(ctx context.Context, s *scratch, p *deploy.Plan, prev, parent string) string {
	var b strings.Builder
	if p.To.Restores != nil {
		last, _ := s.lastChange(ctx, parent, f.c.File)
		fmt.Fprintf(&b, "Revert lkg's pin of %s in %s\n\n", f.c.Image, f.c.File)
		if last != "" {
			fmt.Fprintf(&b, "This reverts commit %s.\n\n", last)
		}
	} else {
		good := ""
		if p.To.GoodTag != "" {
			good = " (" + p.To.GoodTag + ")"
		}
		fmt.Fprintf(&b, "lkg: pin %s to %s%s\n\n", f.c.Image, digest.Short(p.To.Digest), good)
	}
	if in := f.o.incident(); in != "" {
		fmt.Fprintf(&b, "Incident: %s\n", in)
	}
	if p.To.GoodTag != "" {
		fmt.Fprintf(&b, "Good tag: %s\n", p.To.GoodTag)
	}
	fmt.Fprintf(&b, "Digest: %s\n", p.To.Digest)
	fmt.Fprintf(&b, "Previous: %s\n", prev)
	return b.String()
}

// Wait reads the branch back: it must pin what Apply wrote (another
// writer's commit meanwhile that changed the pin is deploy.ErrOverwritten).
// What Argo CD or Flux then does with it is theirs; --verify-url says
// whether it came up.
func (f *File) Wait(ctx context.Context, p *deploy.Plan) (deploy.State, error) {
	st, err := f.Read(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	if st.Digest != p.To.Digest {
		return st, fmt.Errorf("%s pins %s now, not %s: %w", f, st.Image, p.To.Image, deploy.ErrOverwritten)
	}
	return st, nil
}
