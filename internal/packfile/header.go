package packfile

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
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
	es := make([]Entry, p.n)
	if err := p.offsetOrder(es); err != nil {
		return nil, err
	}
	// Entries are in offset order, so an offset delta's base, which comes
	// before it, is found by binary search and already has its type.
	at := func(off uint64) int {
		i, ok := slices.BinarySearchFunc(es, off, func(e Entry, off uint64) int {
			switch {
			case e.Offset < off:
				return -1
			case e.Offset > off:
				return 1
			}
			return 0
		})
		if !ok {
			return -1
		}
		return i
	}
	var refDeltas []int // bases later in the pack, or in another one
	for i := range es {
		if i > 0 && es[i].Offset == es[i-1].Offset {
			return nil, errors.New("overlapping pack entries")
		}
		h, err := p.header(es[i].Offset)
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", es[i].Hash, err)
		}
		switch h.typ {
		case typeOfsDelta:
			es[i].Delta = true
			bi := at(h.baseOff)
			if bi < 0 || es[bi].Type == 0 {
				return nil, fmt.Errorf("delta %s has no base at offset %d", es[i].Hash, h.baseOff)
			}
			es[i].Type = es[bi].Type
		case typeRefDelta:
			es[i].Delta = true
			if boff, ok := p.Find(h.baseHash); ok {
				if bi := at(boff); bi >= 0 && es[bi].Type != 0 {
					es[i].Type = es[bi].Type
					continue
				}
			}
			refDeltas = append(refDeltas, i)
		default:
			es[i].Type = uint8(h.typ)
		}
	}
	// Ref deltas whose base comes later: resolve now. A base in another
	// pack leaves the type 0.
	for len(refDeltas) > 0 {
		progress := false
		rest := refDeltas[:0]
		for _, i := range refDeltas {
			h, _ := p.header(es[i].Offset)
			boff, ok := p.Find(h.baseHash)
			if !ok {
				progress = true
				continue
			}
			bi := at(boff)
			if bi < 0 {
				return nil, fmt.Errorf("delta %s has no base at offset %d", es[i].Hash, boff)
			}
			if es[bi].Type == 0 {
				rest = append(rest, i)
				continue
			}
			es[i].Type = es[bi].Type
			progress = true
		}
		refDeltas = rest
		if !progress {
			return nil, errors.New("unresolvable ref-delta chain")
		}
	}
	return es, nil
}

// offsetOrder fills es with the pack's objects in offset order. A pack's
// offsets and index positions fit one uint64 each (offset above, position
// below), and a radix sort of those keys costs a fraction of a comparison
// sort of the entries: at millions of objects the sort was a sixth of a
// cold scan.
func (p *Pack) offsetOrder(es []Entry) error {
	n := len(es)
	keys := make([]uint64, n)
	maxOff := uint64(0)
	for i := range n {
		off, ok := p.offset(i)
		if !ok {
			return errors.New("pack index large offset out of range")
		}
		keys[i] = off
		maxOff = max(maxOff, off)
	}
	const posBits = 24
	if n >= 1<<posBits || maxOff >= 1<<(64-posBits) {
		// Beyond 16M objects or 1 TB: sort pairs the slow way.
		for i := range es {
			copy(es[i].Hash[:], p.names[i*20:])
			es[i].Offset = keys[i]
		}
		slices.SortFunc(es, func(a, b Entry) int {
			switch {
			case a.Offset < b.Offset:
				return -1
			case a.Offset > b.Offset:
				return 1
			}
			return 0
		})
		return nil
	}
	for i := range keys {
		keys[i] = keys[i]<<posBits | uint64(i)
	}
	radixSort(keys)
	for j, k := range keys {
		i := int(k & (1<<posBits - 1))
		copy(es[j].Hash[:], p.names[i*20:])
		es[j].Offset = k >> posBits
	}
	return nil
}

// radixSort sorts keys in place, least significant byte first, skipping
// the bytes every key shares.
func radixSort(keys []uint64) {
	if len(keys) < 2 {
		return
	}
	tmp := make([]uint64, len(keys))
	src, dst := keys, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for _, k := range src {
			count[byte(k>>shift)]++
		}
		if count[byte(src[0]>>shift)] == len(src) {
			continue // every key has this byte: nothing to move
		}
		pos := 0
		for b := range count {
			c := count[b]
			count[b] = pos
			pos += c
		}
		for _, k := range src {
			b := byte(k >> shift)
			dst[count[b]] = k
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}
