package gitops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FindGitDir is the git directory of the repository at path (a work tree,
// any directory inside one, a linked work tree, or a bare repository),
// found without go-git: by walking up for ".git" (a directory, or a file
// saying "gitdir: DIR"), then following "commondir". It reads no config and
// no objects, so it works in repositories go-git cannot open (sha256
// objects, reftable refs): the journal needs only this directory. A path
// that is none of these gives ErrNotRepository.
func FindGitDir(path string) (string, error) {
	loc, err := locate(path)
	if err != nil {
		return "", err
	}
	return loc.common, nil
}

// location is where a repository's parts are.
type location struct {
	dot      string // the git directory: .git, a linked work tree's, or a bare repository
	common   string // where objects and refs are: dot, or what its commondir names
	worktree string // the work tree's root; "" for a bare repository
}

// locate finds the repository at path, as FindGitDir says.
func locate(path string) (location, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return location{}, fmt.Errorf("opening %q: %w", path, err)
	}
	if _, err := os.Stat(abs); err != nil {
		return location{}, fmt.Errorf("opening %q: %w: %w", path, ErrNotRepository, err)
	}
	for d := abs; ; {
		// A bare repository first, as Open does: the enclosing work tree
		// of a bare repository kept inside one is not the one meant.
		if isBareDir(d) {
			return location{dot: d, common: commonDir(d)}, nil
		}
		dot := filepath.Join(d, ".git")
		if fi, err := os.Stat(dot); err == nil {
			if !fi.IsDir() {
				if dot, err = readGitFile(dot); err != nil {
					return location{}, fmt.Errorf("opening %q: %w: %w", path, ErrNotRepository, err)
				}
			}
			return location{dot: dot, common: commonDir(dot), worktree: d}, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return location{}, fmt.Errorf("opening %q: %w", path, ErrNotRepository)
		}
		d = parent
	}
}

// isBareDir says dir looks like a git directory: HEAD, objects and refs.
func isBareDir(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// readGitFile reads a ".git" file ("gitdir: DIR", as linked work trees and
// submodules have), DIR relative to the file's directory.
func readGitFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	dir, ok := strings.CutPrefix(strings.TrimSpace(line), "gitdir:")
	if !ok {
		return "", errors.New(path + " is not a gitdir: file")
	}
	dir = strings.TrimSpace(dir)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(filepath.Dir(path), dir)
	}
	return filepath.Clean(dir), nil
}

// commonDir is where a git directory keeps its objects, refs and lkg's
// journal: the directory "commondir" names (a linked work tree's), else
// gitDir itself.
func commonDir(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return filepath.Clean(gitDir)
	}
	cd := strings.TrimSpace(string(b))
	if !filepath.IsAbs(cd) {
		cd = filepath.Join(gitDir, cd)
	}
	return filepath.Clean(cd)
}
