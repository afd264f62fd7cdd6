package gitops

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// staleAge is how old a fetch's temporary file must be before lkg takes it
// for the leftover of a killed process: a fetch that is still running
// writes its file more often than that.
const staleAge = time.Minute

// tmpPackPrefixes name the temporary files a fetch writes in objects/pack
// (git and go-git alike) before renaming them to pack-<hash>.*.
var tmpPackPrefixes = []string{"tmp_pack_", "tmp_idx_"}

// isTmpPack says name is a fetch's temporary pack or index.
func isTmpPack(name string) bool {
	return slices.ContainsFunc(tmpPackPrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

// tmpPacks lists the temporary pack files in gitDir's objects/pack.
func tmpPacks(gitDir string) map[string]bool {
	dir := filepath.Join(gitDir, "objects", "pack")
	entries, _ := os.ReadDir(dir)
	out := map[string]bool{}
	for _, e := range entries {
		if isTmpPack(e.Name()) {
			out[filepath.Join(dir, e.Name())] = true
		}
	}
	return out
}

// removeNewTmpPacks removes the temporary pack files in gitDir that were
// not there before: those of a fetch of this process that was stopped
// (go-git leaves them behind when a fetch fails part-way).
func removeNewTmpPacks(gitDir string, before map[string]bool) {
	for path := range tmpPacks(gitDir) {
		if !before[path] {
			_ = os.Remove(path)
		}
	}
}

// removeStale removes what killed fetches left behind, once older than
// staleAge: temporary packs in the repository's objects/pack and in lkg's
// scratch repositories for fetches by id, and the commit-table cache's
// temporary files. Nothing else is touched; errors are ignored (a
// read-only clone keeps its leftovers, as git would).
func removeStale(gitDir, cacheDir string, now time.Time) {
	dirs := []string{filepath.Join(gitDir, "objects", "pack")}
	var tables string
	if cacheDir != "" {
		scratch, _ := filepath.Glob(filepath.Join(cacheDir, "fetched", "*.git", "objects", "pack"))
		dirs = append(dirs, scratch...)
		tables = filepath.Join(cacheDir, "commit-tables")
	}
	old := func(path string) bool {
		fi, err := os.Lstat(path)
		return err == nil && fi.Mode().IsRegular() && now.Sub(fi.ModTime()) > staleAge
	}
	for _, dir := range dirs {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if p := filepath.Join(dir, e.Name()); isTmpPack(e.Name()) && old(p) {
				_ = os.Remove(p)
			}
		}
	}
	if tables != "" {
		entries, _ := os.ReadDir(tables)
		for _, e := range entries {
			// writeTableCache's os.CreateTemp(dir, ".tmp-*").
			if p := filepath.Join(tables, e.Name()); strings.HasPrefix(e.Name(), ".tmp-") && old(p) {
				_ = os.Remove(p)
			}
		}
	}
}
