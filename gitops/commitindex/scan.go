package commitindex

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"github.com/lkg-dev/lkg/internal/text"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/lkg-dev/lkg/internal/packfile"
	"golang.org/x/sync/errgroup"
)

// scanObjectStore adds every commit in the packs and loose objects of
// objectsDir to b. It lists each pack's entries by header only, then
// reads the commits on every core, each worker with its own inflater,
// inflating a commit only up to the end of its headers: go-git's type
// iteration resolves every delta and decodes every commit whole, which
// costs seconds on a big repository. A deltified commit whose base is in
// no pack is read through go-git.
func scanObjectStore(objectsDir string, st *filesystem.Storage, b *Builder) error {
	if err := scanPacks(objectsDir, nil, st, b); err != nil {
		return err
	}
	for _, dir := range packfile.ObjectDirs(objectsDir) {
		if err := scanLoose(dir, b); err != nil {
			return err
		}
	}
	return nil
}

// scanPacks adds the commits of every pack of objectsDir (and its
// alternates) whose file name is not in skip.
func scanPacks(objectsDir string, skip map[string]bool, st *filesystem.Storage, b *Builder) error {
	dirs := packfile.ObjectDirs(objectsDir)
	packs, err := packfile.Open(dirs...)
	if err != nil {
		packs.Close()
		return err
	}
	defer packs.Close()
	var chunks []*scanChunk
	for _, p := range packs.Packs() {
		if skip[filepath.Base(p.Path())] {
			continue
		}
		packsScanned.Add(1)
		entries, err := p.CommitEntries()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p.Path(), err)
		}
		for len(entries) > 0 {
			n := min(len(entries), scanChunkLen)
			chunks = append(chunks, &scanChunk{pack: p, entries: entries[:n:n]})
			entries = entries[n:]
		}
	}
	var next atomic.Int64
	g := errgroup.Group{}
	for range min(runtime.GOMAXPROCS(0), max(len(chunks), 1)) {
		g.Go(func() error {
			r := packs.Reader()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(chunks) {
					return nil
				}
				if err := chunks[i].read(r); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var deferred []plumbing.Hash
	commits, parents := 0, 0
	for _, c := range chunks {
		commits += len(c.hashes)
		parents += len(c.parents)
	}
	b.grow(commits, parents)
	for _, c := range chunks {
		for i := range c.hashes {
			b.Add(c.hashes[i], c.trees[i], c.times[i], c.parents[c.pstart[i]:c.pstart[i+1]])
		}
		deferred = append(deferred, c.deferred...)
		*c = scanChunk{} // its commits are in b now
	}
	for _, h := range deferred {
		o, err := st.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return fmt.Errorf("reading object %s: %w", h, err)
		}
		if o.Type() != plumbing.CommitObject {
			continue
		}
		c, err := object.DecodeCommit(st, o)
		if err != nil {
			return fmt.Errorf("decoding commit %s: %w", h, err)
		}
		b.Add(c.Hash, c.TreeHash, c.Committer.When.Unix(), c.ParentHashes)
	}
	return nil
}

// packsScanned counts the packs scanned, for tests of the cache.
var packsScanned atomic.Int64

// scanChunkLen is how many commit entries one worker reads at a time:
// enough to amortise the hand-off, few enough to balance the cores.
const scanChunkLen = 4096

// scanChunk is a run of one pack's commit entries, in pack order, and
// what a worker read of them.
type scanChunk struct {
	pack    *packfile.Pack
	entries []packfile.Entry

	hashes   []plumbing.Hash
	trees    []plumbing.Hash
	times    []int64
	pstart   []uint32
	parents  []plumbing.Hash
	deferred []plumbing.Hash // deltas whose base is in no pack
}

func (c *scanChunk) read(r *packfile.Reader) error {
	var h packfile.CommitHeader
	n := len(c.entries)
	c.hashes = make([]plumbing.Hash, 0, n)
	c.trees = make([]plumbing.Hash, 0, n)
	c.times = make([]int64, 0, n)
	c.pstart = make([]uint32, 1, n+1)
	c.parents = make([]plumbing.Hash, 0, n+n/4)
	for _, e := range c.entries {
		typ, data, err := r.ReadCommitHeadAt(c.pack, e.Offset)
		if err != nil {
			if e.Delta {
				// Deltas whose base lives in no pack may be anything.
				c.deferred = append(c.deferred, e.Hash)
				continue
			}
			return fmt.Errorf("reading %s: inflating commit %s: %w", c.pack.Path(), e.Hash, err)
		}
		if typ != packfile.TypeCommit {
			continue
		}
		if err := packfile.ParseCommit(data, &h); err != nil {
			return fmt.Errorf("commit %s: %w", e.Hash, err)
		}
		c.hashes = append(c.hashes, e.Hash)
		c.trees = append(c.trees, h.Tree)
		c.times = append(c.times, h.CommitTime())
		c.parents = append(c.parents, h.Parents...)
		c.pstart = append(c.pstart, uint32(len(c.parents)))
	}
	// The chunk's part of the pack is read: out of the resident set
	// with it (commits are a third of a big pack).
	if n > 0 {
		c.pack.Release(c.entries[0].Offset, c.entries[n-1].Offset)
	}
	c.entries = nil
	return nil
}

// scanLoose adds loose commit objects.
func scanLoose(objectsDir string, b *Builder) error {
	names, err := looseObjects(objectsDir)
	if err != nil {
		return err
	}
	var zr io.ReadCloser
	var buf bytes.Buffer
	var c packfile.CommitHeader
	for _, name := range names {
		f, err := os.Open(filepath.Join(objectsDir, name[:2], name[2:]))
		if err != nil {
			continue // pruned meanwhile
		}
		if zr == nil {
			zr, err = zlib.NewReader(bufio.NewReader(f))
		} else {
			err = zr.(zlib.Resetter).Reset(bufio.NewReader(f), nil)
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("inflating loose object %s: %w", name, err)
		}
		head := make([]byte, 7)
		if _, err := io.ReadFull(zr, head); err != nil || string(head) != "commit " {
			f.Close()
			continue
		}
		buf.Reset()
		_, err = buf.ReadFrom(zr)
		f.Close()
		if err != nil {
			return fmt.Errorf("inflating loose object %s: %w", name, err)
		}
		body := buf.Bytes()
		if nul := bytes.IndexByte(body, 0); nul >= 0 {
			body = body[nul+1:]
		}
		if err := packfile.ParseCommit(body, &c); err != nil {
			return fmt.Errorf("commit %s: %w", name, err)
		}
		b.Add(plumbing.NewHash(name), c.Tree, c.CommitTime(), c.Parents)
	}
	return nil
}

// looseObjects lists the 40-hex names of loose objects, sorted.
func looseObjects(objectsDir string) ([]string, error) {
	var names []string
	for i := 0; i < 256; i++ {
		dir := fmt.Sprintf("%02x", i)
		ents, err := os.ReadDir(filepath.Join(objectsDir, dir))
		if err != nil {
			continue
		}
		for _, e := range ents {
			if n := e.Name(); len(n) == 38 && text.IsHex(n) {
				names = append(names, dir+n)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}
