package commitindex

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/lkg-dev/lkg/internal/packfile"
)

const tableCacheMagic = "lkg-commit-table-2\n"

// packNames lists the pack files of objectsDir and its alternates, by
// file name (a pack's name is its content hash), sorted.
func packNames(objectsDir string) ([]string, error) {
	var names []string
	for _, dir := range packfile.ObjectDirs(objectsDir) {
		packs, err := filepath.Glob(filepath.Join(dir, "pack", "pack-*.pack"))
		if err != nil {
			return nil, err
		}
		for _, p := range packs {
			names = append(names, filepath.Base(p))
		}
	}
	sort.Strings(names)
	return names, nil
}

// packSetKey names a set of packs. A table is cached per pack set: loose
// objects come and go with every commit and are scanned afresh (they are
// few), and a fetch that adds a pack extends the cached table by that pack
// instead of starting over.
func packSetKey(names []string) string {
	h := sha256.New()
	for _, n := range names {
		fmt.Fprintln(h, n)
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// tableCachePath is <cache>/commit-tables/<repo id>-<pack set key>.bin;
// the repo id prefix lets a new table replace the stale ones of that repo.
func tableCachePath(cacheDir, gitDir, key string) string {
	id := sha256.Sum256([]byte(gitDir))
	return filepath.Join(cacheDir, "commit-tables", hex.EncodeToString(id[:])[:16]+"-"+key+".bin")
}

func writeTableCache(path string, packs []string, t *Table) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(tableCacheMagic)
	for _, n := range packs {
		w.WriteString(n + "\n")
	}
	w.WriteString("\n")
	var u [4]byte
	put32 := func(v uint32) { binary.LittleEndian.PutUint32(u[:], v); w.Write(u[:]) }
	put32(uint32(len(t.hashes)))
	put32(uint32(len(t.parents)))
	put32(uint32(t.missingParents))
	// Whole arrays at a time: a write per value was a tenth of a run
	// right after a fetch at a million commits.
	w.Write(hashBytes(t.hashes))
	w.Write(hashBytes(t.trees))
	binary.Write(w, binary.LittleEndian, t.times)
	binary.Write(w, binary.LittleEndian, t.parentStart)
	binary.Write(w, binary.LittleEndian, t.parents)
	// Generations too: recomputing them was a third of a warm run at a
	// million commits; checking them is one pass.
	binary.Write(w, binary.LittleEndian, t.gens)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Stale tables of the same repository go first, so the cache holds
	// one table per repository.
	prefix := filepath.Base(path)[:17]
	if old, _ := filepath.Glob(filepath.Join(dir, prefix+"*.bin")); old != nil {
		for _, o := range old {
			if o != path {
				os.Remove(o)
			}
		}
	}
	return os.Rename(f.Name(), path)
}

var errBadTableCache = errors.New("bad commit table cache")

// readTableCache reads a cached table and the packs it was built from.
func readTableCache(path string) (*Table, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasPrefix(string(data[:min(len(data), len(tableCacheMagic))]), tableCacheMagic) {
		return nil, nil, errBadTableCache
	}
	p := data[len(tableCacheMagic):]
	var packs []string
	for {
		nl := bytes.IndexByte(p, '\n')
		if nl < 0 {
			return nil, nil, fmt.Errorf("%w: truncated pack list", errBadTableCache)
		}
		line := string(p[:nl])
		p = p[nl+1:]
		if line == "" {
			break
		}
		packs = append(packs, line)
	}
	t, err := decodeTable(p)
	return t, packs, err
}

func decodeTable(p []byte) (*Table, error) {
	get32 := func() uint32 {
		if len(p) < 4 {
			p = nil
			return 0
		}
		v := binary.LittleEndian.Uint32(p)
		p = p[4:]
		return v
	}
	n, np, miss := int(get32()), int(get32()), int(get32())
	if len(p) != n*20*2+n*8+(n+1)*4+np*4+n*4 {
		return nil, fmt.Errorf("%w: size mismatch", errBadTableCache)
	}
	t := &Table{
		hashes:         make([]plumbing.Hash, n),
		trees:          make([]plumbing.Hash, n),
		times:          make([]int64, n),
		parentStart:    make([]uint32, n+1),
		parents:        make([]uint32, np),
		missingParents: miss,
	}
	copy(hashBytes(t.hashes), p)
	p = p[n*20:]
	copy(hashBytes(t.trees), p)
	p = p[n*20:]
	for i := range t.times {
		t.times[i] = int64(binary.LittleEndian.Uint64(p[i*8:]))
	}
	p = p[n*8:]
	for i := range t.parentStart {
		t.parentStart[i] = binary.LittleEndian.Uint32(p[i*4:])
	}
	p = p[(n+1)*4:]
	for i := range t.parents {
		t.parents[i] = binary.LittleEndian.Uint32(p[i*4:])
		if int(t.parents[i]) >= n {
			return nil, fmt.Errorf("%w: parent out of range", errBadTableCache)
		}
	}
	for i := 0; i < n; i++ {
		if t.parentStart[i] > t.parentStart[i+1] || int(t.parentStart[i+1]) > np {
			return nil, fmt.Errorf("%w: parent index out of order", errBadTableCache)
		}
	}
	p = p[np*4:]
	t.gens = make([]uint32, n)
	for i := range t.gens {
		t.gens[i] = binary.LittleEndian.Uint32(p[i*4:])
	}
	for i := range n {
		if t.gens[i] == 0 {
			return nil, fmt.Errorf("%w: generation missing", errBadTableCache)
		}
		for _, q := range t.parentsOf(uint32(i)) {
			if t.gens[q] >= t.gens[i] {
				return nil, fmt.Errorf("%w: generations out of order", errBadTableCache)
			}
		}
	}
	t.sortByGen()
	t.index()
	return t, nil
}

// repoTableCaches lists the cached tables of the repository at gitDir.
func repoTableCaches(cacheDir, gitDir string) []string {
	id := sha256.Sum256([]byte(gitDir))
	old, _ := filepath.Glob(filepath.Join(cacheDir, "commit-tables", hex.EncodeToString(id[:])[:16]+"-*.bin"))
	return old
}

// RemoveCaches deletes every cached table of the repository at gitDir.
func RemoveCaches(cacheDir, gitDir string) error {
	if cacheDir == "" {
		return nil
	}
	for _, p := range repoTableCaches(cacheDir, gitDir) {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// hashBytes is the bytes of hs, for whole-array reads and writes.
func hashBytes(hs []plumbing.Hash) []byte {
	if len(hs) == 0 {
		return nil
	}
	return unsafe.Slice(&hs[0][0], len(hs)*len(hs[0]))
}
