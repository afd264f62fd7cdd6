package suspects

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/lkg-dev/lkg/internal/packfile"
)

// renamePairs bounds inexact rename detection in one unit (added
// files times deleted files), as git's diff.renameLimit does; past it only
// renames with identical content are found.
const renamePairs = 10000

// treeCacheEntries bounds the decoded-tree cache.
const treeCacheEntries = 400000

// blobCacheLines bounds the cache of hashed blobs (8 bytes a
// line: 32 MiB).
const blobCacheLines = 4 << 20

type treeEntry struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

type change struct {
	path, oldPath    string
	oldMode, newMode filemode.FileMode
	oldHash, newHash plumbing.Hash // zero on the side the file is absent
	old, new         *blobLines    // once read; nil for an absent side or a submodule
}

// blobLines is what the counts need of a blob: its hashed lines, or that
// it is binary.
type blobLines struct {
	lines  []uint64
	binary bool
}

func (b *blobLines) isBinary() bool { return b != nil && b.binary }

func (b *blobLines) hashes() []uint64 {
	if b == nil {
		return nil
	}
	return b.lines
}

// objectCache holds what the workers decoded, shared between them: a
// file's new blob in one unit is its old blob in a later unit, which may run
// on another worker.
type objectCache struct {
	trees *genCache[[]treeEntry]
	blobs *genCache[*blobLines]
}

func newObjectCache() *objectCache {
	return &objectCache{
		trees: newGenCache(treeCacheEntries, func(es []treeEntry) int { return len(es) + 1 }),
		blobs: newGenCache(blobCacheLines, func(b *blobLines) int { return len(b.lines) + 1 }),
	}
}

func (c *objectCache) tree(h plumbing.Hash) ([]treeEntry, bool) { return c.trees.get(h) }
func (c *objectCache) putTree(h plumbing.Hash, es []treeEntry)  { c.trees.put(h, es) }
func (c *objectCache) blob(h plumbing.Hash) (*blobLines, bool)  { return c.blobs.get(h) }
func (c *objectCache) putBlob(h plumbing.Hash, b *blobLines)    { c.blobs.put(h, b) }

// genCache is a map with two generations, safe for the workers to
// share: when the young one holds half the limit (by size) it becomes the
// old one and the oldest entries are dropped, a cheap approximation of
// least-recently-used. A hit in the old generation moves the entry young.
type genCache[V any] struct {
	mu         sync.Mutex
	young, old map[plumbing.Hash]V
	used       int
	limit      int
	size       func(V) int
}

func newGenCache[V any](limit int, size func(V) int) *genCache[V] {
	return &genCache[V]{young: map[plumbing.Hash]V{}, limit: limit, size: size}
}

func (c *genCache[V]) get(h plumbing.Hash) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.young[h]; ok {
		return v, true
	}
	v, ok := c.old[h]
	if ok {
		c.putLocked(h, v)
	}
	return v, ok
}

func (c *genCache[V]) put(h plumbing.Hash, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(h, v)
}

func (c *genCache[V]) putLocked(h plumbing.Hash, v V) {
	if c.used > c.limit/2 {
		c.old, c.young, c.used = c.young, map[plumbing.Hash]V{}, 0
	}
	c.young[h] = v
	c.used += c.size(v)
}

// differ diffs units with one private object store handle.
type differ struct {
	st    *filesystem.Storage
	pr    *packfile.Reader
	risk  riskMatcher
	cache *objectCache
	cats  map[string][]string
}

func newDiffer(st *filesystem.Storage, pr *packfile.Reader, risk riskMatcher, cache *objectCache) *differ {
	return &differ{st: st, pr: pr, risk: risk, cache: cache, cats: map[string][]string{}}
}

// categories caches the risk categories of a path: the same paths change
// again and again over a range.
func (d *differ) categories(p string) []string {
	if c, ok := d.cats[p]; ok {
		return c
	}
	if len(d.cats) > 100000 {
		d.cats = map[string][]string{}
	}
	c := d.risk.categories(p)
	d.cats[p] = c
	return c
}

func (d *differ) diffUnit(u *unitWork) error {
	var changes []*change
	if err := d.diffTrees(u.oldTree, u.newTree, "", &changes); err != nil {
		return fmt.Errorf("diffing unit %s: %w", u.unit.Commit, err)
	}
	for _, c := range changes {
		if err := d.read(c); err != nil {
			u.warnings = append(u.warnings, fmt.Sprintf("unit %s, %s: %v; counted as binary", u.unit.Commit[:12], c.path, err))
			c.old, c.new = &blobLines{binary: true}, &blobLines{binary: true}
		}
	}
	changes = d.renames(u, changes)
	risks := map[string]bool{}
	for _, c := range changes {
		f := File{Path: c.path}
		switch {
		case c.oldPath != "":
			f.Status, f.OldPath = FileRenamed, c.oldPath
		case c.oldHash.IsZero():
			f.Status = FileAdded
		case c.newHash.IsZero():
			f.Status = FileDeleted
		default:
			f.Status = FileModified
		}
		f.Submodule = c.oldMode == filemode.Submodule || c.newMode == filemode.Submodule
		f.Binary = !f.Submodule && (c.old.isBinary() || c.new.isBinary())
		if !f.Submodule && !f.Binary {
			f.Added, f.Deleted = countHashed(c.old.hashes(), c.new.hashes())
		}
		cats := d.categories(c.path)
		if c.oldPath != "" {
			cats = append([]string(nil), cats...)
			for _, k := range d.categories(c.oldPath) {
				if !contains(cats, k) {
					cats = append(cats, k)
				}
			}
		}
		f.Risks = cats
		for _, k := range cats {
			risks[k] = true
		}
		u.unit.Added += f.Added
		u.unit.Deleted += f.Deleted
		u.unit.Files = append(u.unit.Files, f)
		c.old, c.new = nil, nil
	}
	sort.Slice(u.unit.Files, func(i, j int) bool { return u.unit.Files[i].Path < u.unit.Files[j].Path })
	for _, r := range d.risk.rules {
		if risks[r.Category] {
			u.unit.Risks = append(u.unit.Risks, r.Category)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// diffTrees appends the file changes between trees a and b (either may be
// zero: empty), descending only into subtrees whose hashes differ.
func (d *differ) diffTrees(a, b plumbing.Hash, prefix string, out *[]*change) error {
	if a == b {
		return nil
	}
	ea, err := d.entries(a)
	if err != nil {
		return err
	}
	eb, err := d.entries(b)
	if err != nil {
		return err
	}
	i, j := 0, 0
	for i < len(ea) || j < len(eb) {
		cmp := 0
		if i < len(ea) && j < len(eb) {
			cmp = compareEntries(ea[i], eb[j])
		}
		switch {
		case j >= len(eb) || (i < len(ea) && cmp < 0):
			if err := d.side(ea[i], prefix, true, out); err != nil {
				return err
			}
			i++
		case i >= len(ea) || cmp > 0:
			if err := d.side(eb[j], prefix, false, out); err != nil {
				return err
			}
			j++
		default:
			x, y := ea[i], eb[j]
			i++
			j++
			if x.hash == y.hash && x.mode == y.mode {
				continue
			}
			if x.mode == filemode.Dir {
				if err := d.diffTrees(x.hash, y.hash, prefix+x.name+"/", out); err != nil {
					return err
				}
				continue
			}
			*out = append(*out, &change{path: prefix + x.name,
				oldMode: x.mode, newMode: y.mode, oldHash: x.hash, newHash: y.hash})
		}
	}
	return nil
}

// side records an entry present on one side only: a whole subtree added or
// deleted, or one file.
func (d *differ) side(e treeEntry, prefix string, deleted bool, out *[]*change) error {
	if e.mode == filemode.Dir {
		if deleted {
			return d.diffTrees(e.hash, plumbing.ZeroHash, prefix+e.name+"/", out)
		}
		return d.diffTrees(plumbing.ZeroHash, e.hash, prefix+e.name+"/", out)
	}
	c := &change{path: prefix + e.name}
	if deleted {
		c.oldMode, c.oldHash = e.mode, e.hash
	} else {
		c.newMode, c.newHash = e.mode, e.hash
	}
	*out = append(*out, c)
	return nil
}

func (d *differ) entries(h plumbing.Hash) ([]treeEntry, error) {
	if h.IsZero() {
		return nil, nil
	}
	if es, ok := d.cache.tree(h); ok {
		return es, nil
	}
	if typ, data, err := d.pr.Read(h); err == nil && typ == packfile.TypeTree {
		if es, err := parseTree(data); err == nil {
			d.sortAndCache(h, es)
			return es, nil
		}
	}
	t, err := object.GetTree(d.st, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("reading tree %s: %w", h, errMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h, err)
	}
	es := make([]treeEntry, len(t.Entries))
	for i, e := range t.Entries {
		es[i] = treeEntry{name: e.Name, mode: e.Mode, hash: e.Hash}
	}
	d.sortAndCache(h, es)
	return es, nil
}

func (d *differ) sortAndCache(h plumbing.Hash, es []treeEntry) {
	// git writes trees in this order; a tree from elsewhere may not be.
	less := func(i, j int) bool { return compareEntries(es[i], es[j]) < 0 }
	if !sort.SliceIsSorted(es, less) {
		sort.Slice(es, less)
	}
	d.cache.putTree(h, es)
}

// read loads a change's blobs (submodules have none).
func (d *differ) read(c *change) error {
	var err error
	if !c.oldHash.IsZero() && c.oldMode != filemode.Submodule {
		if c.old, err = d.blob(c.oldHash); err != nil {
			return err
		}
	}
	if !c.newHash.IsZero() && c.newMode != filemode.Submodule {
		if c.new, err = d.blob(c.newHash); err != nil {
			return err
		}
	}
	return nil
}

// blob reads and hashes a blob, once per worker while the cache lasts.
func (d *differ) blob(h plumbing.Hash) (*blobLines, error) {
	if b, ok := d.cache.blob(h); ok {
		return b, nil
	}
	data, err := d.readBlob(h)
	if err != nil {
		return nil, err
	}
	b := &blobLines{binary: isBinary(data)}
	if !b.binary {
		b.lines = hashLines(data)
	}
	d.cache.putBlob(h, b)
	return b, nil
}

func (d *differ) readBlob(h plumbing.Hash) ([]byte, error) {
	if typ, data, err := d.pr.Read(h); err == nil && typ == packfile.TypeBlob {
		return data, nil
	}
	o, err := d.st.EncodedObject(plumbing.BlobObject, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("reading blob %s: %w", h, errMissing)
	}
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	defer rd.Close()
	buf := make([]byte, o.Size())
	if _, err := io.ReadFull(rd, buf); err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	return buf, nil
}

// renames pairs deleted with added files: identical content first, then,
// like git's default, content at least half the same (by lines here).
func (d *differ) renames(u *unitWork, changes []*change) []*change {
	var adds, dels []*change
	for _, c := range changes {
		if c.oldMode == filemode.Submodule || c.newMode == filemode.Submodule {
			continue
		}
		if c.oldHash.IsZero() {
			adds = append(adds, c)
		} else if c.newHash.IsZero() {
			dels = append(dels, c)
		}
	}
	if len(adds) == 0 || len(dels) == 0 {
		return changes
	}
	gone := map[*change]bool{}
	pair := func(del, add *change) {
		add.oldPath, add.oldHash, add.oldMode, add.old = del.path, del.oldHash, del.oldMode, del.old
		gone[del] = true
	}
	byHash := map[plumbing.Hash][]*change{}
	for _, c := range dels {
		byHash[c.oldHash] = append(byHash[c.oldHash], c)
	}
	var restAdds []*change
	for _, a := range adds {
		if ds := byHash[a.newHash]; len(ds) > 0 {
			pair(ds[0], a)
			byHash[a.newHash] = ds[1:]
			continue
		}
		restAdds = append(restAdds, a)
	}
	var restDels []*change
	for _, c := range dels {
		if !gone[c] && !c.old.isBinary() {
			restDels = append(restDels, c)
		}
	}
	var textAdds []*change
	for _, a := range restAdds {
		if !a.new.isBinary() {
			textAdds = append(textAdds, a)
		}
	}
	if len(textAdds) > 0 && len(restDels) > 0 {
		if len(textAdds)*len(restDels) > renamePairs {
			u.warnings = append(u.warnings, fmt.Sprintf("unit %s: %d added × %d deleted files is too many to look for edited renames; only identical renames are shown",
				u.unit.Commit[:12], len(textAdds), len(restDels)))
		} else {
			d.similarRenames(textAdds, restDels, pair)
		}
	}
	out := changes[:0]
	for _, c := range changes {
		if !gone[c] {
			out = append(out, c)
		}
	}
	return out
}

func (d *differ) similarRenames(adds, dels []*change, pair func(del, add *change)) {
	type candidate struct {
		del, add *change
		score    float64
	}
	counts := func(b *blobLines) (map[uint64]int, int) {
		hs := b.hashes()
		m := make(map[uint64]int, len(hs))
		for _, h := range hs {
			m[h]++
		}
		return m, len(hs)
	}
	delSets := make([]map[uint64]int, len(dels))
	delLens := make([]int, len(dels))
	for i, c := range dels {
		delSets[i], delLens[i] = counts(c.old)
	}
	var cands []candidate
	for _, a := range adds {
		hs := a.new.hashes()
		for i, del := range dels {
			n := max(len(hs), delLens[i])
			if n == 0 || min(len(hs), delLens[i])*2 < n {
				continue // cannot reach half
			}
			left := make(map[uint64]int, len(delSets[i]))
			for k, v := range delSets[i] {
				left[k] = v
			}
			common := 0
			for _, h := range hs {
				if left[h] > 0 {
					left[h]--
					common++
				}
			}
			if score := float64(common) / float64(n); score >= 0.5 {
				cands = append(cands, candidate{del, a, score})
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	usedDel, usedAdd := map[*change]bool{}, map[*change]bool{}
	for _, c := range cands {
		if usedDel[c.del] || usedAdd[c.add] {
			continue
		}
		usedDel[c.del], usedAdd[c.add] = true, true
		pair(c.del, c.add)
	}
}

// compareEntries orders tree entries as git does: by name, a
// directory's name compared as if it ended in "/".
func compareEntries(a, b treeEntry) int {
	n := min(len(a.name), len(b.name))
	for i := 0; i < n; i++ {
		if a.name[i] != b.name[i] {
			if a.name[i] < b.name[i] {
				return -1
			}
			return 1
		}
	}
	ca, cb := entryByte(a, n), entryByte(b, n)
	switch {
	case ca < cb:
		return -1
	case ca > cb:
		return 1
	}
	return 0
}

// entryByte is the entry's sort-name byte at i, past its name: "/"
// for a directory, then nothing (0).
func entryByte(e treeEntry, i int) int {
	if i < len(e.name) {
		return int(e.name[i])
	}
	if i == len(e.name) && e.mode == filemode.Dir {
		return '/'
	}
	return 0
}

// parseTree parses a raw tree object: "<octal mode> <name>\0<20
// byte hash>" entries. Names are cut from one string of the whole tree.
func parseTree(raw []byte) ([]treeEntry, error) {
	data := string(raw)
	out := make([]treeEntry, 0, len(data)/40)
	for len(data) > 0 {
		sp := strings.IndexByte(data, ' ')
		if sp <= 0 {
			return nil, errors.New("bad tree entry mode")
		}
		var mode uint32
		for i := 0; i < sp; i++ {
			c := data[i]
			if c < '0' || c > '7' {
				return nil, errors.New("bad tree entry mode")
			}
			mode = mode<<3 | uint32(c-'0')
		}
		data = data[sp+1:]
		nul := strings.IndexByte(data, 0)
		if nul < 0 || nul+21 > len(data) {
			return nil, errors.New("truncated tree entry")
		}
		e := treeEntry{name: data[:nul], mode: filemode.FileMode(mode)}
		copy(e.hash[:], data[nul+1:nul+21])
		data = data[nul+21:]
		out = append(out, e)
	}
	return out, nil
}
