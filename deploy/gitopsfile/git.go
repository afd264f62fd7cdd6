package gitopsfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// errRejected: the remote refused the push as not a fast-forward (the
// branch moved since it was fetched).
var errRejected = errors.New("push rejected: the branch moved")

// scratch is a bare repository of lkg's own, in a temporary directory,
// that the config repository's branch is fetched into and commits are
// written in: no work tree, and nothing of the user's clones touched.
type scratch struct {
	dir    string
	url    string
	branch string
}

// trackRef is where branch is fetched to.
func trackRef(branch string) string { return "refs/lkg/gitops/" + branch }

func newScratch(ctx context.Context, url, branch string) (*scratch, error) {
	dir, err := os.MkdirTemp("", "lkg-gitops-")
	if err != nil {
		return nil, err
	}
	s := &scratch{dir: filepath.Join(dir, "repo.git"), url: url, branch: branch}
	if _, err := s.git(ctx, nil, "init", "-q", "--bare", s.dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *scratch) close() error { return os.RemoveAll(filepath.Dir(s.dir)) }

// git runs git in the scratch repository with stdin, and returns its
// standard output; an error carries git's last line on stderr.
func (s *scratch) git(ctx context.Context, stdin []byte, args ...string) (string, error) {
	return s.gitEnv(ctx, nil, stdin, args...)
}

func (s *scratch) gitEnv(ctx context.Context, env []string, stdin []byte, args ...string) (string, error) {
	full := append([]string{"--git-dir", s.dir, "-c", "gc.auto=0"}, args...)
	if args[0] == "init" {
		full = args
	}
	cmd := exec.CommandContext(ctx, "git", full...)
	// Never wait on a prompt: lkg runs unattended at 3 a.m. as often as
	// not; credentials come from the user's helpers and agents.
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_SSH_COMMAND="+sshCommand()), env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		msg := gitMessage(errOut.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), fmt.Errorf("git %s: %s", args[0], msg)
	}
	return out.String(), nil
}

// sshCommand keeps the user's GIT_SSH_COMMAND, else ssh in batch mode (no
// password prompt).
func sshCommand() string {
	if c := os.Getenv("GIT_SSH_COMMAND"); c != "" {
		return c
	}
	return "ssh -o BatchMode=yes"
}

// gitMessage is git's complaint on one line: from its first "fatal:" or
// "error:" line on (git continues "unable to connect" on a next line), else
// its last line.
func gitMessage(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		if rest, ok := strings.CutPrefix(l, "fatal: "); ok {
			return strings.Join(strings.Fields(strings.Join(append([]string{rest}, lines[i+1:]...), " ")), " ")
		}
		if strings.HasPrefix(l, "error: ") {
			return strings.Join(strings.Fields(strings.Join(lines[i:], " ")), " ")
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// fetch fetches the branch and returns its tip.
func (s *scratch) fetch(ctx context.Context) (string, error) { return s.fetchBranch(ctx, s.branch) }

// fetchBranch fetches branch and returns its tip.
func (s *scratch) fetchBranch(ctx context.Context, branch string) (string, error) {
	if _, err := s.git(ctx, nil, "fetch", "--quiet", "--no-tags", s.url, "+refs/heads/"+branch+":"+trackRef(branch)); err != nil {
		return "", err
	}
	out, err := s.git(ctx, nil, "rev-parse", "--verify", trackRef(branch)+"^{commit}")
	return strings.TrimSpace(out), err
}

// remoteTip is branch's tip on the remote, "" when the remote has no such
// branch.
func (s *scratch) remoteTip(ctx context.Context, branch string) (string, error) {
	out, err := s.git(ctx, nil, "ls-remote", "--heads", s.url, "refs/heads/"+branch)
	if err != nil {
		return "", err
	}
	tip, _, _ := strings.Cut(strings.TrimSpace(out), "\t")
	return tip, nil
}

// contains says commit is in rev's history (both fetched): a branch at
// commit has nothing rev does not have.
func (s *scratch) contains(ctx context.Context, rev, commit string) bool {
	base, err := s.git(ctx, nil, "merge-base", rev, commit)
	return err == nil && strings.TrimSpace(base) == commit
}

// read is file at commit rev, and its mode ("100644").
func (s *scratch) read(ctx context.Context, rev, file string) ([]byte, string, error) {
	ls, err := s.git(ctx, nil, "ls-tree", rev, "--", file)
	if err != nil {
		return nil, "", err
	}
	mode, _, _ := strings.Cut(ls, " ")
	if mode == "" {
		return nil, "", fmt.Errorf("%s has no file %s at %.12s", s.branch, file, rev)
	}
	out, err := s.git(ctx, nil, "cat-file", "blob", rev+":"+file)
	return []byte(out), mode, err
}

// commit writes a commit on parent whose tree is parent's with file's
// content replaced, and returns its hash.
func (s *scratch) commit(ctx context.Context, parent, file, mode string, content []byte, msg string) (string, error) {
	blob, err := s.git(ctx, content, "hash-object", "-w", "--stdin")
	if err != nil {
		return "", err
	}
	index := filepath.Join(filepath.Dir(s.dir), "index")
	defer os.Remove(index)
	env := []string{"GIT_INDEX_FILE=" + index}
	if _, err := s.gitEnv(ctx, env, nil, "read-tree", parent); err != nil {
		return "", err
	}
	if _, err := s.gitEnv(ctx, env, nil, "update-index", "--cacheinfo", mode+","+strings.TrimSpace(blob)+","+file); err != nil {
		return "", err
	}
	tree, err := s.gitEnv(ctx, env, nil, "write-tree")
	if err != nil {
		return "", err
	}
	// A machine with no git identity still records who moved production:
	// lkg, on this host.
	if _, err := s.git(ctx, nil, "var", "GIT_COMMITTER_IDENT"); err != nil {
		host, _ := os.Hostname()
		env = append(env, "GIT_AUTHOR_NAME=lkg", "GIT_AUTHOR_EMAIL=lkg@"+host, "GIT_COMMITTER_NAME=lkg", "GIT_COMMITTER_EMAIL=lkg@"+host)
	}
	c, err := s.gitEnv(ctx, env, []byte(msg), "commit-tree", strings.TrimSpace(tree), "-p", parent)
	return strings.TrimSpace(c), err
}

// push pushes commit to branch, as a fast-forward only (a branch the
// remote does not have is created).
func (s *scratch) push(ctx context.Context, commit, branch string) error {
	out, err := s.git(ctx, nil, "push", "--porcelain", s.url, commit+":refs/heads/"+branch)
	if err != nil && strings.Contains(out, "[rejected]") {
		return errRejected
	}
	return err
}

// lastChange is the newest commit from rev that changed file.
func (s *scratch) lastChange(ctx context.Context, rev, file string) (string, error) {
	out, err := s.git(ctx, nil, "log", "-1", "--format=%H", rev, "--", file)
	return strings.TrimSpace(out), err
}
