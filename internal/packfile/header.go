package packfile

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/lkg-dev/lkg/internal/radix"
)

// Object types, in the pack's numbering (gitformat-pack(5)); they equal
// go-git's plumbing.ObjectType values.
const (
	TypeCommit   = 1
	TypeTree     = 2
	TypeBlob     = 3
	TypeTag      = 4
	typeOfsDelta = 6
	typeRefDelta = 7
)

// header is one pack entry's header.
type header struct {
	typ      int    // TypeCommit..TypeTag, typeOfsDelta or typeRefDelta
	size     uint64 // inflated size of the object, or of the delta
	data     int    // where the compressed data starts
	baseOff  uint64 // typeOfsDelta: the base's offset
	baseHash plumbing.Hash
}

// header parses the entry header at off: type and size, then the delta
// base, if any.
func (p *Pack) header(off uint64) (header, error) {
	d := p.data
	if off >= uint64(len(d)) {
		return header{}, fmt.Errorf("offset %d past the end of the pack", off)
	}
	pos := int(off)
	c := d[pos]
	pos++
	h := header{typ: int(c>>4) & 7, size: uint64(c & 15)}
	for shift := 4; c&0x80 != 0; shift += 7 {
		if pos >= len(d) || shift > 60 {
			return header{}, errors.New("bad object header")
		}
		c = d[pos]
		pos++
		h.size |= uint64(c&0x7f) << shift
	}
	switch h.typ {
	case TypeCommit, TypeTree, TypeBlob, TypeTag:
	case typeOfsDelta:
		if pos >= len(d) {
			return header{}, errors.New("bad delta offset")
		}
		c = d[pos]
		pos++
		rel := uint64(c & 0x7f)
		for c&0x80 != 0 {
			if pos >= len(d) {
				return header{}, errors.New("bad delta offset")
			}
			c = d[pos]
			pos++
			rel = ((rel + 1) << 7) | uint64(c&0x7f)
		}
		if rel > off {
			return header{}, errors.New("delta base before the pack start")
		}
		h.baseOff = off - rel
	case typeRefDelta:
		if pos+20 > len(d) {
			return header{}, errors.New("truncated delta base")
		}
		copy(h.baseHash[:], d[pos:pos+20])
		pos += 20
	default:
		return header{}, fmt.Errorf("unknown pack object type %d", h.typ)
	}
	h.data = pos
	return h, nil
}

// Entry is one object of a pack, as Entries lists it.
type Entry struct {
	Hash plumbing.Hash
	// Type is the object's type, a delta's being its base's (TypeCommit
	// ... TypeTag); 0 when the base is in another pack.
	Type uint8
	// Delta says the object is stored as a delta.
	Delta  bool
	Offset uint64
}

// Entries lists every object of the pack in pack order, with its type,
// reading only headers: a delta's type is its base's, found without
// inflating anything. go-git's type iteration resolves every delta, which
// costs seconds on a big repository.
func (p *Pack) Entries() ([]Entry, error) {
	return p.entries(func(uint8) bool { return true })
}

// CommitEntries is Entries keeping only the commits, and the deltas whose
// base is in another pack (Type 0), which may be commits: the commit table
// needs nothing else, and at millions of objects a list of every entry was
// the largest allocation of a cold scan.
func (p *Pack) CommitEntries() ([]Entry, error) {
	return p.entries(func(t uint8) bool { return t == TypeCommit || t == 0 })
}

func (p *Pack) entries(keep func(uint8) bool) ([]Entry, error) {
	offs, pos, err := p.offsetOrder()
	if err != nil {
		return nil, err
	}
	n := len(offs)
	types := make([]uint8, n)
	kind := make([]uint8, n) // entryWhole, entryOfsDelta, ...
	base := make([]uint32, n)
	// The header walk, on every core by ranges of offsets: each object's
	// type, or where its delta base is in offs (found by binary search;
	// an offset delta's base comes before it). Each range hands the pages
	// behind it back as it goes, so a multi-gigabyte pack does not end
	// up in the resident set just to learn its types.
	workers := 1
	if n >= parallelWalkMin {
		workers = min(runtime.GOMAXPROCS(0), 8)
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Go(func() { errs[w] = p.walkHeaders(offs, pos, lo, hi, types, kind, base) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Types in offset order: a base before its delta has its type by
	// then. Ref deltas whose base comes later wait for a second round; a
	// base in another pack leaves the type 0.
	var refDeltas []int
	for i := range n {
		switch kind[i] {
		case entryOfsDelta:
			if types[i] = types[base[i]]; types[i] == 0 {
				return nil, fmt.Errorf("delta %s has no base at offset %d", p.hashAt(pos[i]), offs[base[i]])
			}
		case entryRefDelta:
			if int(base[i]) < i {
				types[i] = types[base[i]]
			}
			if types[i] == 0 {
				refDeltas = append(refDeltas, i)
			}
		}
	}
	for len(refDeltas) > 0 {
		progress := false
		rest := refDeltas[:0]
		for _, i := range refDeltas {
			if types[base[i]] == 0 {
				rest = append(rest, i)
				continue
			}
			types[i] = types[base[i]]
			progress = true
		}
		refDeltas = rest
		if !progress {
			return nil, errors.New("unresolvable ref-delta chain")
		}
	}
	kept := 0
	for i := range n {
		if keep(types[i]) {
			kept++
		}
	}
	es := make([]Entry, 0, kept)
	for i := range n {
		if keep(types[i]) {
			es = append(es, Entry{Hash: p.hashAt(pos[i]), Type: types[i], Delta: kind[i] != entryWhole, Offset: offs[i]})
		}
	}
	// Reading the hashes touched most pages of the index's name table,
	// a hundred megabytes at millions of objects: a lookup or two is all
	// it serves from here on.
	dontNeed(p.idx)
	return es, nil
}

// pageSize is the granularity of Release.
var pageSize = uint64(os.Getpagesize())

// Release hands the pages wholly inside [from, to) of the pack back to
// the kernel: a reader done with part of a big pack keeps it out of the
// process's resident set. The page cache keeps them, and a later read
// faults them back in.
func (p *Pack) Release(from, to uint64) {
	from = (from + pageSize - 1) &^ (pageSize - 1)
	to = min(to, uint64(len(p.data))) &^ (pageSize - 1)
	if from < to {
		dontNeed(p.data[from:to])
	}
}

// parallelWalkMin is how many objects a pack needs for its header walk to
// be split across cores (a variable for tests).
var parallelWalkMin = 1 << 16

// What walkHeaders found of an entry.
const (
	entryWhole         = iota // types[i] is its type
	entryOfsDelta             // base[i] is its base
	entryRefDelta             // base[i] is its base, maybe after it
	entryRefDeltaOther        // its base is in another pack
)

// walkHeaders reads the headers of offs[lo:hi].
func (p *Pack) walkHeaders(offs []uint64, pos []uint32, lo, hi int, types, kind []uint8, base []uint32) error {
	at := func(off uint64) int {
		i, ok := slices.BinarySearch(offs, off)
		if !ok {
			return -1
		}
		return i
	}
	const dropEvery = 64 << 20
	var dropped uint64
	if lo < hi {
		dropped = offs[lo] &^ (pageSize - 1)
	}
	for i := lo; i < hi; i++ {
		if off := offs[i] &^ (pageSize - 1); off >= dropped+dropEvery {
			dontNeed(p.data[dropped:off])
			dropped = off
		}
		if i > 0 && offs[i] == offs[i-1] {
			return errors.New("overlapping pack entries")
		}
		h, err := p.header(offs[i])
		if err != nil {
			return fmt.Errorf("object %s: %w", p.hashAt(pos[i]), err)
		}
		switch h.typ {
		case typeOfsDelta:
			bi := at(h.baseOff)
			if bi < 0 || bi >= i {
				return fmt.Errorf("delta %s has no base at offset %d", p.hashAt(pos[i]), h.baseOff)
			}
			kind[i], base[i] = entryOfsDelta, uint32(bi)
		case typeRefDelta:
			kind[i] = entryRefDeltaOther
			if boff, ok := p.Find(h.baseHash); ok {
				bi := at(boff)
				if bi < 0 {
					return fmt.Errorf("delta %s has no base at offset %d", p.hashAt(pos[i]), boff)
				}
				kind[i], base[i] = entryRefDelta, uint32(bi)
			}
		default:
			types[i] = uint8(h.typ)
		}
	}
	if hi > lo {
		dontNeed(p.data[dropped:min(offs[hi-1]&^(pageSize-1), uint64(len(p.data)))])
	}
	return nil
}

func (p *Pack) hashAt(i uint32) plumbing.Hash {
	var h plumbing.Hash
	copy(h[:], p.names[int(i)*20:])
	return h
}

// offsetOrder lists the pack's offsets in ascending order, with each
// one's position in the index. A pack's offsets and index positions fit
// one uint64 each (offset above, position below), and a radix sort of
// those keys costs a fraction of a comparison sort of the entries: at
// millions of objects the sort was a sixth of a cold scan.
func (p *Pack) offsetOrder() ([]uint64, []uint32, error) {
	n := p.n
	keys := make([]uint64, n)
	maxOff := uint64(0)
	for i := range n {
		off, ok := p.offset(i)
		if !ok {
			return nil, nil, errors.New("pack index large offset out of range")
		}
		keys[i] = off
		maxOff = max(maxOff, off)
	}
	pos := make([]uint32, n)
	const posBits = 24
	if n >= 1<<posBits || maxOff >= 1<<(64-posBits) {
		// Beyond 16M objects or 1 TB: sort positions the slow way.
		for i := range pos {
			pos[i] = uint32(i)
		}
		slices.SortFunc(pos, func(a, b uint32) int {
			switch {
			case keys[a] < keys[b]:
				return -1
			case keys[a] > keys[b]:
				return 1
			}
			return 0
		})
		offs := make([]uint64, n)
		for j, i := range pos {
			offs[j] = keys[i]
		}
		return offs, pos, nil
	}
	for i := range keys {
		keys[i] = keys[i]<<posBits | uint64(i)
	}
	radix.Sort(keys)
	for j, k := range keys {
		pos[j] = uint32(k & (1<<posBits - 1))
		keys[j] = k >> posBits
	}
	return keys, pos, nil
}
