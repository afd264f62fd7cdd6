package commitindex

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

const tableCacheMagic = "lkg-commit-table-1\n"

// objectStoreKey names the object store's current content: the pack names
// (a pack's name is its content hash) and the loose object names. Any
// fetch, gc or commit changes it.
func objectStoreKey(objectsDir string) (string, error) {
	h := sha256.New()
	for _, dir := range objectDirs(objectsDir) {
		fmt.Fprintln(h, "objects", dir)
		packs, err := filepath.Glob(filepath.Join(dir, "pack", "pack-*.pack"))
		if err != nil {
			return "", err
		}
		sort.Strings(packs)
		for _, p := range packs {
			fmt.Fprintln(h, filepath.Base(p))
		}
		loose, err := looseObjects(dir)
		if err != nil {
			return "", err
		}
		fmt.Fprintln(h, "loose", len(loose))
		for _, l := range loose {
			fmt.Fprintln(h, l)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:32], nil
}

// tableCachePath is <cache>/commit-tables/<repo id>-<store key>.bin; the
// repo id prefix lets a new table replace the stale ones of that repo.
func tableCachePath(cacheDir, gitDir, key string) string {
	id := sha256.Sum256([]byte(gitDir))
	return filepath.Join(cacheDir, "commit-tables", hex.EncodeToString(id[:])[:16]+"-"+key+".bin")
}

func writeTableCache(path string, t *Table) error {
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
	var u [8]byte
	put32 := func(v uint32) { binary.LittleEndian.PutUint32(u[:4], v); w.Write(u[:4]) }
	put32(uint32(len(t.hashes)))
	put32(uint32(len(t.parents)))
	put32(uint32(t.missingParents))
	for _, h := range t.hashes {
		w.Write(h[:])
	}
	for _, h := range t.trees {
		w.Write(h[:])
	}
	for _, v := range t.times {
		binary.LittleEndian.PutUint64(u[:], uint64(v))
		w.Write(u[:])
	}
	for _, v := range t.parentStart {
		put32(v)
	}
	for _, v := range t.parents {
		put32(v)
	}
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

func readTableCache(path string) (*Table, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(string(data[:min(len(data), len(tableCacheMagic))]), tableCacheMagic) {
		return nil, errBadTableCache
	}
	p := data[len(tableCacheMagic):]
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
	if len(p) != n*20*2+n*8+(n+1)*4+np*4 {
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
	for i := range t.hashes {
		copy(t.hashes[i][:], p[i*20:])
	}
	p = p[n*20:]
	for i := range t.trees {
		copy(t.trees[i][:], p[i*20:])
	}
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
	t.computeGenerations()
	return t, nil
}

// RemoveCaches deletes every cached table of the repository at gitDir.
func RemoveCaches(cacheDir, gitDir string) error {
	if cacheDir == "" {
		return nil
	}
	id := sha256.Sum256([]byte(gitDir))
	old, err := filepath.Glob(filepath.Join(cacheDir, "commit-tables", hex.EncodeToString(id[:])[:16]+"-*.bin"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
