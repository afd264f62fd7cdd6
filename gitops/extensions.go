package gitops

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/cache"
	cfgformat "github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"
)

// ErrUnsupportedExtension: the repository uses a git extension (sha256
// objects, reftable refs) that go-git cannot read. The ExtensionError that
// wraps it names the extension and what to do.
var ErrUnsupportedExtension = errors.New("git extension not supported")

// ExtensionError says which extension stops Open, and what to do.
type ExtensionError struct {
	Name  string // as git documents it: objectFormat, refStorage
	Value string
}

func (e *ExtensionError) Error() string {
	var todo string
	switch strings.ToLower(e.Name) {
	case "objectformat":
		todo = "run lkg from a SHA-1 clone, or deploy a build you know with lkg deploy --digest"
	case "refstorage":
		todo = "convert the refs with git refs migrate --ref-format=files (git 2.46+) or use a clone with files refs, or deploy a build you know with lkg deploy --digest"
	default:
		todo = "run lkg from a clone without it, or deploy a build you know with lkg deploy --digest"
	}
	return fmt.Sprintf("git extension %s=%s is not supported by lkg's git library; %s", e.Name, e.Value, todo)
}

func (e *ExtensionError) Unwrap() error { return ErrUnsupportedExtension }

// harmlessExtensions change nothing lkg reads: worktreeConfig (which git
// sparse-checkout turns on) adds per-work-tree config, preciousObjects
// forbids pruning, which lkg never does. go-git refuses them all the same
// (and misreads worktreeConfig's case), so Open hides them from it.
var harmlessExtensions = map[string]bool{
	"worktreeconfig":  true,
	"preciousobjects": true,
	"noop":            true,
	"noop-v1":         true,
}

// extensionNames are extensions' names as git's documentation spells
// them; git config files may hold them in any case.
var extensionNames = map[string]string{
	"objectformat":       "objectFormat",
	"compatobjectformat": "compatObjectFormat",
	"refstorage":         "refStorage",
	"partialclone":       "partialClone",
	"worktreeconfig":     "worktreeConfig",
	"preciousobjects":    "preciousObjects",
}

// isExtensionError says go-git refused to open a repository for its
// extensions.
func isExtensionError(err error) bool {
	return errors.Is(err, git.ErrUnknownExtension) || errors.Is(err, git.ErrUnsupportedExtensionRepositoryFormatVersion)
}

// openWithExtensions opens the repository at path that go-git refused for
// its extensions: with only harmless ones, go-git is shown the config
// without them; otherwise the first other one is an *ExtensionError.
func openWithExtensions(path string) (*git.Repository, *filesystem.Storage, location, error) {
	loc, err := locate(path)
	if err != nil {
		return nil, nil, loc, err
	}
	exts, err := readExtensions(filepath.Join(loc.common, "config"))
	if err != nil {
		return nil, nil, loc, fmt.Errorf("opening %q: %w", path, err)
	}
	for _, opt := range exts {
		if !harmlessExtensions[strings.ToLower(opt.Key)] {
			name := extensionNames[strings.ToLower(opt.Key)]
			if name == "" {
				name = opt.Key
			}
			return nil, nil, loc, fmt.Errorf("opening %q: %w", path, &ExtensionError{Name: name, Value: opt.Value})
		}
	}
	var fs billy.Filesystem = osfs.New(loc.dot)
	if loc.common != filepath.Clean(loc.dot) {
		fs = dotgit.NewRepositoryFilesystem(fs, osfs.New(loc.common))
	}
	st := filesystem.NewStorage(fs, cache.NewObjectLRUDefault())
	var wt billy.Filesystem
	if loc.worktree != "" {
		wt = osfs.New(loc.worktree)
	}
	g, err := git.Open(hideExtensions{st}, wt)
	if err != nil {
		return nil, nil, loc, fmt.Errorf("opening %q: %w", path, err)
	}
	return g, st, loc, nil
}

// readExtensions is the [extensions] section of a git config file.
func readExtensions(path string) (cfgformat.Options, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw := cfgformat.New()
	if err := cfgformat.NewDecoder(f).Decode(raw); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if !raw.HasSection("extensions") {
		return nil, nil
	}
	return raw.Section("extensions").Options, nil
}

// hideExtensions is a storage whose config, as go-git reads it, lacks the
// harmless extensions. lkg never writes the repository's config.
type hideExtensions struct{ *filesystem.Storage }

func (s hideExtensions) Config() (*config.Config, error) {
	cfg, err := s.Storage.Config()
	if err != nil || cfg.Raw == nil || !cfg.Raw.HasSection("extensions") {
		return cfg, err
	}
	sec := cfg.Raw.Section("extensions")
	kept := sec.Options[:0:0]
	for _, opt := range sec.Options {
		if !harmlessExtensions[strings.ToLower(opt.Key)] {
			kept = append(kept, opt)
		}
	}
	sec.Options = kept
	return cfg, nil
}

func (s hideExtensions) SetConfig(*config.Config) error {
	return errors.New("lkg does not write the repository's config")
}
