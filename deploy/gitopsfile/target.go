package gitopsfile

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/imageref"
)

// Config is an environment's gitops: block.
type Config struct {
	Repo   string // the config repository: a URL or a local path, as git takes it
	Branch string // the branch Argo CD or Flux follows
	File   string // the file in it that pins the image, from the repository root
	Image  string // the image as the file names it, without tag or digest: "host/repo"
	// Review, when set (--gitops-branch), is a branch to push the commit
	// to for review instead of Branch: created from Branch, and never
	// one that has commits Branch does not have, unless lkg's own
	// journal put them there (an undo reverts on it).
	Review string
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
	switch {
	case c.Review == "":
	case c.Review == c.Branch:
		return fmt.Errorf("--gitops-branch %s is the environment's own branch: name a new branch for the review", c.Review)
	case !validBranch.MatchString(c.Review) || strings.Contains(c.Review, "..") || strings.Contains(c.Review, "//") ||
		strings.HasSuffix(c.Review, "/") || strings.HasSuffix(c.Review, ".lock") || strings.HasSuffix(c.Review, "."):
		return fmt.Errorf("--gitops-branch %q is not a branch name git takes (letters, digits and ._/-, no '..')", c.Review)
	}
	return nil
}

// validBranch is the part of git's rules for branch names (git
// check-ref-format) a review branch is held to, without git.
var validBranch = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/-]*$`)

// File is a config repository's file as a deploy target.
type File struct {
	c Config
	o options

	mu sync.Mutex
	s  *scratch // made on first use

	// step is called in Apply with "committed", once the commit is
	// written and before it is pushed: tests interrupt there.
	step func(ctx context.Context, at string)
}

var _ deploy.Target = (*File)(nil)

// Option configures New.
type Option func(*options)

type options struct {
	incident func() string
	log      io.Writer
}

// WithLog sets where the review branch pushed is announced
// (--gitops-branch): the repository and branch to open the review from.
// The default is nowhere.
func WithLog(w io.Writer) Option {
	return func(o *options) { o.log = w }
}

// WithIncident names the incident in commit messages: f is asked when the
// commit is written (the journal opens the incident when the move is
// planned). The default names none.
func WithIncident(f func() string) Option {
	return func(o *options) { o.incident = f }
}

// New is c's file as a target. Nothing is fetched until the first Read.
func New(c Config, opts ...Option) *File {
	o := options{incident: func() string { return "" }, log: io.Discard}
	for _, opt := range opts {
		opt(&o)
	}
	return &File{c: c, o: o, step: func(context.Context, string) {}}
}

// ForReview is f with its commits pushed to branch for review instead of
// the environment's branch (--gitops-branch).
func (f *File) ForReview(branch string) (*File, error) {
	c := f.c
	c.Review = branch
	if err := c.Check(); err != nil {
		return nil, err
	}
	return &File{c: c, o: f.o, step: f.step}, nil
}

// String names the target in the journal and history:
// "gitops:REPO#BRANCH:FILE"; with Review, the review branch in place of
// BRANCH: that branch is what moves.
func (f *File) String() string {
	return "gitops:" + f.c.Repo + "#" + f.branch() + ":" + f.c.File
}

// Base is the target String names without Review: the environment's own
// branch.
func (f *File) Base() string {
	return "gitops:" + f.c.Repo + "#" + f.c.Branch + ":" + f.c.File
}

// branch is the branch a move pushes to.
func (f *File) branch() string { return cmp.Or(f.c.Review, f.c.Branch) }

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

// detail is State.Detail: the commit the state was read at, and the
// branch it is on when that is a review branch.
type detail struct {
	Commit string `json:"commit"`
	Branch string `json:"branch,omitempty"`
}

// Read is the image the file pins at the branch's tip. With Review, that
// is the review branch's when it has commits of its own, else Branch's:
// a review branch not pushed yet starts from it.
func (f *File) Read(ctx context.Context) (deploy.State, error) {
	s, err := f.scratch(ctx)
	if err != nil {
		return deploy.State{}, err
	}
	tip, err := s.fetch(ctx)
	if err != nil {
		return deploy.State{}, fmt.Errorf("reading %s: %w", f, err)
	}
	if f.c.Review != "" {
		rtip, err := s.remoteTip(ctx, f.c.Review)
		if err != nil {
			return deploy.State{}, fmt.Errorf("reading %s: %w", f, err)
		}
		if rtip != "" {
			if rtip, err = s.fetchBranch(ctx, f.c.Review); err != nil {
				return deploy.State{}, fmt.Errorf("reading %s: %w", f, err)
			}
			if !s.contains(ctx, tip, rtip) {
				st, _, err := f.stateAt(ctx, s, rtip, f.c.Review)
				return st, err
			}
		}
	}
	st, _, err := f.stateAt(ctx, s, tip, "")
	return st, err
}

// stateAt is what the file pins at rev, a commit of branch ("" for the
// environment's own).
func (f *File) stateAt(ctx context.Context, s *scratch, rev, branch string) (deploy.State, string, error) {
	content, _, err := s.read(ctx, rev, f.c.File)
	if err != nil {
		return deploy.State{}, "", fmt.Errorf("reading %s: %w", f, err)
	}
	cur, kind, err := Pinned(content, f.c.Image)
	if err != nil {
		return deploy.State{}, "", fmt.Errorf("reading %s: %w", f, err)
	}
	d, _ := json.Marshal(detail{Commit: rev, Branch: branch})
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
	_, kind, err := f.stateAt(ctx, s, from, "")
	if err != nil {
		return nil, err
	}
	how := fmt.Sprintf("one commit to %s, %s's %s; pushed as a fast-forward", f.c.Branch, f.c.File, kind)
	if f.c.Review != "" {
		var d detail
		_ = json.Unmarshal(cur.Detail, &d)
		if d.Branch != "" && b.Restores == nil {
			return nil, errs.Coded(2, fmt.Errorf("branch %s exists on %s with commits %s does not have", f.c.Review, f.c.Repo, f.c.Branch),
				"lkg never overwrites a branch: name a new one with --gitops-branch")
		}
		on := f.c.Branch + "'s tip"
		if d.Branch != "" {
			on = d.Branch + "'s tip"
		}
		how = fmt.Sprintf("one commit on %s, %s's %s; pushed to branch %s for review, %s untouched", on, f.c.File, kind, f.c.Review, f.c.Branch)
	}
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
		f.step(ctx, "committed")
		if err := ctx.Err(); err != nil {
			return err // nothing pushed: the commit stays in lkg's scratch repository only
		}
		err = s.push(ctx, c, f.branch())
		if err == nil {
			own.pushed = c
			return nil
		}
		if !errors.Is(err, errRejected) {
			return fmt.Errorf("pushing to %s: %w", f, err)
		}
		if f.c.Review != "" {
			// Someone pushed to the review branch since it was read: it is
			// theirs now, never overwritten.
			return fmt.Errorf("pushing to %s: branch %s moved on %s since it was read; nothing was pushed: %w", f, f.c.Review, f.c.Repo, deploy.ErrTargetMoved)
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
	if own, ok := p.Own.(*plan); ok && f.c.Review != "" && own.pushed != "" {
		fmt.Fprintf(f.o.log, "lkg: pushed %.12s to branch %s of %s for review; open it from %s into %s\n", own.pushed, f.c.Review, f.c.Repo, f.c.Review, f.c.Branch)
	}
	return st, nil
}
