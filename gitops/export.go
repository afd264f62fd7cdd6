package gitops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrUnsafePath: a tree entry's name would land outside the export
// directory or inside a .git directory. Git itself refuses to check such
// trees out; so does Export.
var ErrUnsafePath = errors.New("unsafe path in tree")

// Exported describes a commit's tree written out by Export.
type Exported struct {
	// Dir is the directory the tree was written to.
	Dir string
	// Commit is the exported commit, 40 hex.
	Commit string
	// Time is the commit's committer time; a rebuild passes it on as
	// SOURCE_DATE_EPOCH, and every exported file carries it as its mtime.
	Time time.Time
	// Files counts the regular files and symlinks written.
	Files int
	// Submodules lists the paths of submodule entries. Their content is
	// not in this repository, so each is left as an empty directory.
	Submodules []string
}

// Export writes the tree of commit (a full 40-hex hash) into dir, which
// must be empty or not yet exist, like `git archive <commit> | tar -x -C dir`.
// The user's work tree, index and HEAD are never read or touched: the files
// come from the object store. Executable bits and symlinks are kept;
// submodules become empty directories and are listed in the result. Every
// file's mtime is set to the commit time, so that a build from the export
// does not depend on when it ran.
func (r *Repo) Export(ctx context.Context, commit, dir string) (*Exported, error) {
	h := plumbing.NewHash(commit)
	if len(commit) != 40 || h.String() != strings.ToLower(commit) {
		return nil, fmt.Errorf("exporting %q: %w: want a full 40-hex commit hash", commit, ErrUnknownRef)
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil, fmt.Errorf("exporting %q: %w", commit, ErrUnknownRef)
		}
		return nil, fmt.Errorf("exporting %q: %w", commit, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("exporting %q: reading tree: %w", commit, err)
	}
	if err := prepareExportDir(dir); err != nil {
		return nil, fmt.Errorf("exporting %q: %w", commit, err)
	}
	ex := &exporter{ctx: ctx, repo: r, mtime: c.Committer.When, out: &Exported{Dir: dir, Commit: h.String(), Time: c.Committer.When}}
	if err := ex.tree(tree, ""); err != nil {
		return nil, fmt.Errorf("exporting %q: %w", commit, err)
	}
	// Directories last: writing their children bumped their mtimes.
	for i := len(ex.dirs) - 1; i >= 0; i-- {
		_ = os.Chtimes(ex.dirs[i], ex.mtime, ex.mtime)
	}
	return ex.out, nil
}

func prepareExportDir(dir string) error {
	ents, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o755)
	case err != nil:
		return err
	case len(ents) > 0:
		return fmt.Errorf("export directory %q is not empty", dir)
	}
	return nil
}

type exporter struct {
	ctx   context.Context
	repo  *Repo
	mtime time.Time
	out   *Exported
	dirs  []string
}

// tree writes t's entries under rel (slash-separated, "" for the root).
// It walks the tree itself rather than with object.TreeWalker, which ends
// the walk silently on a missing subtree: an export must fail loudly
// instead of building half the source.
func (ex *exporter) tree(t *object.Tree, rel string) error {
	for _, e := range t.Entries {
		if err := ex.ctx.Err(); err != nil {
			return err
		}
		if err := checkEntryName(e.Name); err != nil {
			return fmt.Errorf("%w: %q in %q", ErrUnsafePath, e.Name, rel)
		}
		p := e.Name
		if rel != "" {
			p = rel + "/" + e.Name
		}
		dst := filepath.Join(ex.out.Dir, filepath.FromSlash(p))
		switch e.Mode {
		case filemode.Dir:
			sub, err := object.GetTree(ex.repo.repo.Storer, e.Hash)
			if err != nil {
				return fmt.Errorf("reading tree %q: %w", p, err)
			}
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			ex.dirs = append(ex.dirs, dst)
			if err := ex.tree(sub, p); err != nil {
				return err
			}
		case filemode.Submodule:
			if err := os.Mkdir(dst, 0o755); err != nil {
				return err
			}
			ex.dirs = append(ex.dirs, dst)
			ex.out.Submodules = append(ex.out.Submodules, p)
		case filemode.Symlink:
			target, err := ex.blobString(e.Hash, p)
			if err != nil {
				return err
			}
			if err := os.Symlink(target, dst); err != nil {
				return err
			}
			ex.out.Files++
		case filemode.Regular, filemode.Deprecated, filemode.Executable:
			perm := os.FileMode(0o644)
			if e.Mode == filemode.Executable {
				perm = 0o755
			}
			if err := ex.file(e.Hash, p, dst, perm); err != nil {
				return err
			}
			ex.out.Files++
		default:
			return fmt.Errorf("entry %q has unsupported mode %s", p, e.Mode)
		}
	}
	return nil
}

// checkEntryName refuses names git would refuse to check out: a tree made
// by hand could otherwise write outside dir or plant a .git directory.
func checkEntryName(name string) error {
	switch {
	case name == "", name == ".", name == "..", strings.ContainsAny(name, "/\\\x00"):
		return ErrUnsafePath
	case strings.EqualFold(name, ".git"):
		return ErrUnsafePath
	}
	return nil
}

func (ex *exporter) blobString(h plumbing.Hash, p string) (string, error) {
	b, err := ex.repo.repo.BlobObject(h)
	if err != nil {
		return "", fmt.Errorf("reading %q: %w", p, err)
	}
	rc, err := b.Reader()
	if err != nil {
		return "", fmt.Errorf("reading %q: %w", p, err)
	}
	defer rc.Close()
	s, err := io.ReadAll(rc)
	if err != nil {
		return "", fmt.Errorf("reading %q: %w", p, err)
	}
	return string(s), nil
}

func (ex *exporter) file(h plumbing.Hash, p, dst string, perm os.FileMode) error {
	b, err := ex.repo.repo.BlobObject(h)
	if err != nil {
		return fmt.Errorf("reading %q: %w", p, err)
	}
	rc, err := b.Reader()
	if err != nil {
		return fmt.Errorf("reading %q: %w", p, err)
	}
	defer rc.Close()
	// O_EXCL: never write through something already there (a symlink
	// planted by an earlier entry, say).
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, rc); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", p, err)
	}
	// The umask may have dropped bits; the mode is part of the build input.
	if err := os.Chmod(dst, perm); err != nil {
		return err
	}
	return os.Chtimes(dst, ex.mtime, ex.mtime)
}
