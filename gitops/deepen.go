package gitops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ErrShallowOffline: the repository is a shallow clone and the tags it
// lacks could not be fetched (no network, no remote, a refused login).
// What a known-good tag points at cannot be known without them.
var ErrShallowOffline = errors.New("shallow clone and its tags could not be fetched")

// IsShallow says the repository is a shallow clone (like `git rev-parse
// --is-shallow-repository`): CI checkouts usually are, with a single
// commit and no older tags.
func (r *Repo) IsShallow() bool {
	fi, err := os.Stat(filepath.Join(r.gitDir, "shallow"))
	return err == nil && fi.Size() > 0
}

// Deepened is what DeepenTags fetched.
type Deepened struct {
	Remote  string // the remote fetched from
	Command string // the git command run, as a user would type it
	Tags    int    // tags the repository did not have before
}

// deepenTimeout bounds DeepenTags' fetch when the repository's network
// timeout is not set.
const deepenTimeout = 2 * time.Minute

// DeepenTags fetches into a shallow clone only what a known-good tag needs:
// the tags matching globs and the commits they point at, each at depth 1
// (like `git fetch --depth=1 --no-tags origin 'refs/tags/v*:refs/tags/v*'`),
// never their history. Tags the repository has are not overwritten. It
// uses remote "origin" when there is one, else the first remote.
//
// It runs the git CLI: go-git cannot extend a shallow clone by refspec.
func (r *Repo) DeepenTags(ctx context.Context, globs []string) (Deepened, error) {
	remote, err := r.fetchRemote()
	if err != nil {
		return Deepened{}, err
	}
	var specs []string
	for _, g := range globs {
		// A refspec holds at most one "*" and no other glob syntax; any
		// other glob takes every tag (still at depth 1).
		if strings.Count(g, "*") > 1 || strings.ContainsAny(g, "?[") {
			specs = nil
			break
		}
		specs = append(specs, "refs/tags/"+g+":refs/tags/"+g)
	}
	if len(specs) == 0 {
		specs = []string{"refs/tags/*:refs/tags/*"}
	}
	before := r.countTags(ctx)
	args := append([]string{"fetch", "--depth=1", "--no-tags", "--quiet", remote}, specs...)
	d := Deepened{Remote: remote, Command: "git " + strings.Join(quoteAll(args), " ")}
	timeout := r.opts.timeout
	if timeout <= 0 {
		timeout = deepenTimeout
	}
	fctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(fctx, "git", append([]string{"--git-dir", r.gitDir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return d, ctx.Err()
		}
		why := lastLine(stderr.String())
		if why == "" {
			why = err.Error()
		}
		return d, fmt.Errorf("%w: %s from %s: %s", ErrShallowOffline, d.Command, remote, why)
	}
	d.Tags = max(0, r.countTags(ctx)-before)
	return d, nil
}

// fetchRemote is the remote a shallow clone came from.
func (r *Repo) fetchRemote() (string, error) {
	remotes, err := r.repo.Remotes()
	if err != nil {
		return "", fmt.Errorf("listing remotes: %w", err)
	}
	first := ""
	for _, rm := range remotes {
		n := rm.Config().Name
		if n == "origin" {
			return n, nil
		}
		if first == "" || n < first {
			first = n
		}
	}
	if first == "" {
		return "", fmt.Errorf("%w: the repository has no remote to fetch them from", ErrShallowOffline)
	}
	return first, nil
}

// countTags counts refs/tags/*, or -1 when git cannot.
func (r *Repo) countTags(ctx context.Context) int {
	out, err := exec.CommandContext(ctx, "git", "--git-dir", r.gitDir, "for-each-ref", "--format=x", "refs/tags/").Output()
	if err != nil {
		return -1
	}
	return strings.Count(string(out), "\n")
}

func quoteAll(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "*?[ ") {
			a = "'" + a + "'"
		}
		out[i] = a
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
