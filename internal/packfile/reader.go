package packfile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
)

// Packs reads objects straight from the repository's pack files.
// go-git's reader hashes every object it caches and goes through a scanner
// per object; on a 10,000-commit range that is most of the time. This one
// maps each pack, finds an object with a binary search in the .idx, inflates
// it and applies deltas, nothing more. Anything it cannot do (loose objects,
// a pack it cannot parse) is left to go-git by the caller.
type Packs struct {
	packs []*Pack
}

// Pack is one mapped pack file and its index.
type Pack struct {
	path  string // the .pack file
	idx   []byte // the whole .idx file, mapped
	n     int
	names []byte // n sorted 20-byte hashes, inside idx
	offs  []byte // n 4-byte offsets, inside idx
	large []byte // 8-byte offsets, inside idx
	data  []byte // the whole .pack, mapped
	unmap func()
}

// ErrNotInPacks: the object is in none of the mapped packs (loose, or
// absent).
var ErrNotInPacks = errors.New("object not in a pack")

// Open maps every pack in each objects directory (objects/pack/pack-*.idx).
// A pack that fails to open is skipped, and named in the error: a caller
// that can read objects another way (go-git) may go on with the rest.
func Open(objectsDirs ...string) (*Packs, error) {
	ps := &Packs{}
	var errs []error
	for _, dir := range objectsDirs {
		idxs, _ := filepath.Glob(filepath.Join(dir, "pack", "pack-*.idx"))
		for _, idx := range idxs {
			p, err := OpenPack(idx)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading %s: %w", idx[:len(idx)-len(".idx")]+".pack", err))
				continue
			}
			ps.packs = append(ps.packs, p)
		}
	}
	return ps, errors.Join(errs...)
}

// Packs lists the mapped packs.
func (ps *Packs) Packs() []*Pack { return ps.packs }

// Close unmaps the packs; no Reader may be used after it.
func (ps *Packs) Close() {
	for _, p := range ps.packs {
		p.Close()
	}
}

// OpenPack maps the pack of a version 2 .idx file. The index is mapped
// too, not read: finding one object touches a few pages of it, and at
// millions of objects reading it whole cost a fifth of a second and as
// many megabytes as it has, on every run.
func OpenPack(idxPath string) (*Pack, error) {
	idx, unmapIdx, err := mapFile(idxPath)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			unmapIdx()
		}
	}()
	if len(idx) < 8+256*4 || !bytes.Equal(idx[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(idx[4:]) != 2 {
		return nil, errors.New("not a version 2 pack index")
	}
	n := int(binary.BigEndian.Uint32(idx[8+255*4:]))
	namesAt := 8 + 256*4
	offsAt := namesAt + n*20 + n*4 // names, then CRCs
	largeAt := offsAt + n*4
	if len(idx) < largeAt+40 {
		return nil, errors.New("pack index is truncated")
	}
	path := idxPath[:len(idxPath)-len(".idx")] + ".pack"
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 12+20 || !bytes.Equal(data[:4], []byte("PACK")) {
		unmap()
		return nil, errors.New("not a pack file")
	}
	ok = true
	return &Pack{path: path, idx: idx, n: n, names: idx[namesAt : namesAt+n*20],
		offs: idx[offsAt:largeAt], large: idx[largeAt : len(idx)-40], data: data,
		unmap: func() { unmap(); unmapIdx() }}, nil
}

// Close unmaps the pack.
func (p *Pack) Close() { p.unmap() }

// Path is the .pack file's path.
func (p *Pack) Path() string { return p.path }

// Len is the number of objects in the pack.
func (p *Pack) Len() int { return p.n }

// Find returns the object's offset in the pack.
func (p *Pack) Find(h plumbing.Hash) (uint64, bool) {
	i, hi := p.search(h)
	if i >= hi || !bytes.Equal(p.names[i*20:i*20+20], h[:]) {
		return 0, false
	}
	return p.offset(i)
}

// search returns the index of the first name at or after h among those
// sharing h's first byte (the .idx fan-out's bucket), and the bucket's
// end; i == end when there is none, or the fan-out is damaged.
func (p *Pack) search(h plumbing.Hash) (i, end int) {
	lo := 0
	if h[0] > 0 {
		lo = int(binary.BigEndian.Uint32(p.idx[8+(int(h[0])-1)*4:]))
	}
	hi := int(binary.BigEndian.Uint32(p.idx[8+int(h[0])*4:]))
	if hi > p.n || lo > hi {
		return 0, 0
	}
	return lo + sort.Search(hi-lo, func(i int) bool {
		return bytes.Compare(p.names[(lo+i)*20:(lo+i)*20+20], h[:]) >= 0
	}), hi
}

// offset is the pack offset of the index's i-th object.
func (p *Pack) offset(i int) (uint64, bool) {
	off := uint64(binary.BigEndian.Uint32(p.offs[i*4:]))
	if off&0x80000000 != 0 {
		j := int(off&0x7fffffff) * 8
		if j+8 > len(p.large) {
			return 0, false
		}
		off = binary.BigEndian.Uint64(p.large[j:])
	}
	return off, true
}

// Reader is one worker's reader: its own inflater and delta
// base cache over the shared mapped packs.
type Reader struct {
	ps        *Packs
	zr        io.ReadCloser
	src       bytes.Reader
	bases     map[packKey]cachedBase
	baseBytes int
	deltaBuf  []byte
	scratch   []byte
	head      headInflater
}

type cachedBase struct {
	typ  int
	data []byte
}

type packKey struct {
	pack *Pack
	off  uint64
}

// baseCacheBytes bounds a reader's delta base cache.
const baseCacheBytes = 32 << 20

func (ps *Packs) Reader() *Reader {
	return &Reader{ps: ps, bases: map[packKey]cachedBase{}}
}

// Read returns the object's type (pack numbering: 1 commit, 2 tree, 3
// blob, 4 tag) and content. The content lives in the reader's scratch
// buffer: it is valid only until the next read. Every caller parses or
// hashes it at once, and reusing the buffer halves what a diff allocates.
func (r *Reader) Read(h plumbing.Hash) (int, []byte, error) {
	p, off, ok := r.locate(h)
	if !ok {
		return 0, nil, ErrNotInPacks
	}
	return r.at(p, off, 0, &r.scratch)
}

func (r *Reader) locate(h plumbing.Hash) (*Pack, uint64, bool) {
	for _, p := range r.ps.packs {
		if off, ok := p.Find(h); ok {
			return p, off, true
		}
	}
	return nil, 0, false
}

// ReadAt is Read for the object at off in p (one of the reader's packs,
// or a pack whose deltas all have their bases in it).
func (r *Reader) ReadAt(p *Pack, off uint64) (int, []byte, error) {
	return r.at(p, off, 0, &r.scratch)
}

// at reads the object at off. With dst, the content is built in *dst
// (grown as needed); without, in a new slice the caller may keep.
func (r *Reader) at(p *Pack, off uint64, depth int, dst *[]byte) (int, []byte, error) {
	if depth > 10000 {
		return 0, nil, errors.New("delta chain too deep")
	}
	if dst == nil {
		dst = new([]byte)
	}
	h, err := p.header(off)
	if err != nil {
		return 0, nil, err
	}
	src := p.data[h.data:]
	switch h.typ {
	case TypeCommit, TypeTree, TypeBlob, TypeTag:
		out, err := r.inflateInto(dst, src, h.size)
		return h.typ, out, err
	}
	var baseTyp int
	var base []byte
	if h.typ == typeOfsDelta {
		baseTyp, base, err = r.base(p, h.baseOff, depth)
	} else {
		bp, boff, ok := r.locate(h.baseHash)
		if !ok {
			return 0, nil, ErrNotInPacks
		}
		baseTyp, base, err = r.base(bp, boff, depth)
	}
	if err != nil {
		return 0, nil, err
	}
	// The delta is dropped once applied: inflate it into a reused buffer.
	delta, err := r.inflateInto(&r.deltaBuf, src, h.size)
	if err != nil {
		return 0, nil, err
	}
	out, err := applyDelta((*dst)[:0], base, delta)
	if err == nil {
		*dst = out
	}
	return baseTyp, out, err
}

// base reads a delta base through the cache: chains share bases.
func (r *Reader) base(p *Pack, off uint64, depth int) (int, []byte, error) {
	k := packKey{p, off}
	if b, ok := r.bases[k]; ok {
		return b.typ, b.data, nil
	}
	typ, b, err := r.at(p, off, depth+1, nil)
	if err != nil {
		return 0, nil, err
	}
	if r.baseBytes+len(b) > baseCacheBytes {
		r.bases, r.baseBytes = map[packKey]cachedBase{}, 0
	}
	// Objects are never modified once read, so the cache can share b.
	r.bases[k] = cachedBase{typ, b}
	r.baseBytes += len(b)
	return typ, b, nil
}

// inflateInto inflates size bytes from src into *buf, growing it as needed.
func (r *Reader) inflateInto(buf *[]byte, src []byte, size uint64) ([]byte, error) {
	if size > 1<<34 {
		return nil, errors.New("object too large")
	}
	r.src.Reset(src)
	if r.zr == nil {
		zr, err := zlib.NewReader(&r.src)
		if err != nil {
			return nil, err
		}
		r.zr = zr
	} else if err := r.zr.(zlib.Resetter).Reset(&r.src, nil); err != nil {
		return nil, err
	}
	if uint64(cap(*buf)) < size {
		*buf = make([]byte, size)
	}
	out := (*buf)[:size]
	if _, err := io.ReadFull(r.zr, out); err != nil {
		return nil, fmt.Errorf("inflating: %w", err)
	}
	return out, nil
}

// applyDelta applies a git delta (gitformat-pack(5)) to base,
// appending the result to dst (which it reuses when large enough).
func applyDelta(dst, base, delta []byte) ([]byte, error) {
	varint := func() (uint64, bool) {
		var v uint64
		for shift := 0; shift < 64; shift += 7 {
			if len(delta) == 0 {
				return 0, false
			}
			c := delta[0]
			delta = delta[1:]
			v |= uint64(c&0x7f) << shift
			if c&0x80 == 0 {
				return v, true
			}
		}
		return 0, false
	}
	srcSize, ok1 := varint()
	dstSize, ok2 := varint()
	if !ok1 || !ok2 || srcSize != uint64(len(base)) || dstSize > 1<<34 {
		return nil, errors.New("bad delta header")
	}
	out := dst[:0]
	if uint64(cap(out)) < dstSize {
		out = make([]byte, 0, dstSize)
	}
	for len(delta) > 0 {
		op := delta[0]
		delta = delta[1:]
		if op&0x80 != 0 {
			var off, n uint64
			for i := 0; i < 4; i++ {
				if op&(1<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("truncated delta")
					}
					off |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			for i := 0; i < 3; i++ {
				if op&(0x10<<i) != 0 {
					if len(delta) == 0 {
						return nil, errors.New("truncated delta")
					}
					n |= uint64(delta[0]) << (8 * i)
					delta = delta[1:]
				}
			}
			if n == 0 {
				n = 0x10000
			}
			if off+n > uint64(len(base)) {
				return nil, errors.New("delta copies past its base")
			}
			out = append(out, base[off:off+n]...)
		} else if op != 0 {
			if int(op) > len(delta) {
				return nil, errors.New("truncated delta")
			}
			out = append(out, delta[:op]...)
			delta = delta[op:]
		} else {
			return nil, errors.New("delta opcode 0")
		}
	}
	if uint64(len(out)) != dstSize {
		return nil, errors.New("delta result has the wrong size")
	}
	return out, nil
}

// ReadCommitHeadAt reads the object at off in p like ReadAt, except that a
// commit stored whole is inflated only up to the blank line that ends its
// headers: the message, often most of the object, is never needed for the
// commit table. A deltified object is read whole. The content is valid
// until the next read.
func (r *Reader) ReadCommitHeadAt(p *Pack, off uint64) (int, []byte, error) {
	h, err := p.header(off)
	if err != nil {
		return 0, nil, err
	}
	if h.typ != TypeCommit {
		return r.at(p, off, 0, &r.scratch)
	}
	if h.size > 1<<34 {
		return 0, nil, errors.New("object too large")
	}
	out, err := r.head.head(r.scratch, p.data[h.data:], int(h.size))
	if err != nil {
		return 0, nil, fmt.Errorf("inflating: %w", err)
	}
	r.scratch = out
	return TypeCommit, out, nil
}
