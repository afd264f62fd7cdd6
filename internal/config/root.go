package config

import (
	"os"
	"path/filepath"
)

// RepoRoot walks up from dir to the directory holding .git, or to a bare
// repository. With neither, dir itself (made absolute): opening the
// repository will then say what is wrong, more clearly than the settings
// loader could.
func RepoRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if isBareRepo(d) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs
		}
		d = parent
	}
}

func isBareRepo(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// DefaultCacheDir is where lkg caches registry metadata and commit tables
// unless told otherwise (--cache-dir, LKG_CACHE_DIR): the user cache
// directory's lkg/, or "" (no cache) when there is none.
func DefaultCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "lkg")
}
