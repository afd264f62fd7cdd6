package packfile

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"slices"
	"sync"
)

// headInflater decodes a zlib stream (RFC 1950, 1951) held whole in memory,
// stopping as soon as its output holds a blank line: a commit's headers
// without its message. It exists for one job compress/flate is slow at:
// millions of streams of a few hundred bytes, each with Huffman codes of
// its own. compress/flate reads through an io.ByteReader, builds full
// decoding tables for every block and keeps a 32 KB window; at a million
// commits that was most of a cold scan. Here the input is a slice read
// eight bytes at a time, the tables are small and reused, and the output
// is its own window. It checks no Adler-32: it never reads to the end.
type headInflater struct {
	in    []byte
	pos   int    // next byte of in not yet in bits
	bits  uint64 // LSB first; bits above nbits may hold the next bytes
	nbits uint
	out   []byte

	lit, dist, clen huffTable
	lens            [maxLitCodes + maxDistCodes]uint8
	used            [maxLitCodes + maxDistCodes]uint16
}

const (
	maxCodeLen   = 15
	maxLitCodes  = 288
	maxDistCodes = 32
	litFastBits  = 9
	distFastBits = 7
	clenFastBits = 7 // code length codes are at most 7 bits: always fast
)

var (
	errInflateCorrupt = errors.New("corrupt deflate stream")
	errInflateEOF     = errors.New("deflate stream is truncated")
	errInflateSize    = errors.New("inflated size does not match the object header")
)

// huffTable is one canonical Huffman code: a table indexed by the next
// fastBits bits of input for codes that short, and counts and symbols in
// code order for the rest (decoded the way zlib's puff does).
type huffTable struct {
	fastBits uint
	fast     [1 << litFastBits]uint16 // symbol<<4 | length; 0: a longer code
	count    [maxCodeLen + 1]uint16
	symbol   [maxLitCodes]uint16
	maxLen   uint
}

// build sets up the code in which symbol s has length lengths[s] (0:
// unused); used lists the symbols of nonzero length in ascending order (a
// block's code uses a few dozen of its 286 symbols, and the work is per
// symbol used). An incomplete code is an error, except for one code of one
// bit (zlib writes those), and an empty code is accepted: the HDIST code
// of a block of literals only.
func (h *huffTable) build(lengths []uint8, used []uint16, fastBits uint) error {
	h.fastBits = fastBits
	h.count = [maxCodeLen + 1]uint16{}
	h.maxLen = 0
	for _, s := range used {
		l := lengths[s]
		h.count[l]++
		h.maxLen = max(h.maxLen, uint(l))
	}
	// Kraft's sum at the longest length: complete codes fill the space.
	space := 0
	for l := uint(1); l <= h.maxLen; l++ {
		space = space<<1 + int(h.count[l])
	}
	if h.maxLen > 0 && space != 1<<h.maxLen && !(space == 1 && h.maxLen == 1) {
		return errInflateCorrupt
	}
	var offs [maxCodeLen + 1]uint16
	for l := 1; l < maxCodeLen; l++ {
		offs[l+1] = offs[l] + h.count[l]
	}
	for _, s := range used {
		l := lengths[s]
		h.symbol[offs[l]] = s
		offs[l]++
	}
	// The table, indexed by the next fastBits bits of input (a code's
	// first bit first, so by the code reversed): built for one bit, then
	// doubled a bit at a time, each code of the new length written once.
	// A code of length l then fills every completion of its bits, and a
	// prefix of a longer code stays 0.
	h.fast[0], h.fast[1] = 0, 0
	code, i := uint16(0), 0
	for l := uint(1); l <= fastBits; l++ {
		if l > 1 {
			copy(h.fast[1<<(l-1):1<<l], h.fast[:1<<(l-1)])
		}
		for range h.count[l] {
			h.fast[bits.Reverse16(code)>>(16-l)] = h.symbol[i]<<4 | uint16(l)
			code++
			i++
		}
		code <<= 1
	}
	return nil
}

// usedOf lists the symbols of lengths that are nonzero, into buf.
func usedOf(lengths []uint8, buf []uint16) []uint16 {
	used := buf[:0]
	for s, l := range lengths {
		if l != 0 {
			used = append(used, uint16(s))
		}
	}
	return used
}

// fixed codes of block type 1, built once.
var (
	fixedOnce           sync.Once
	fixedLit, fixedDist huffTable
)

func fixedTables() (*huffTable, *huffTable) {
	fixedOnce.Do(func() {
		var l [maxLitCodes]uint8
		for i := range l {
			switch {
			case i < 144:
				l[i] = 8
			case i < 256:
				l[i] = 9
			case i < 280:
				l[i] = 7
			default:
				l[i] = 8
			}
		}
		// 32 distance codes make the code complete; 30 and 31 never
		// occur in a valid stream.
		var d [32]uint8
		for i := range d {
			d[i] = 5
		}
		var buf [maxLitCodes]uint16
		if fixedLit.build(l[:], usedOf(l[:], buf[:]), litFastBits) != nil || fixedDist.build(d[:], usedOf(d[:], buf[:]), distFastBits) != nil {
			panic("packfile: the fixed Huffman codes do not build")
		}
	})
	return &fixedLit, &fixedDist
}

// refill tops bits up to at least 56 bits, or to the end of the input.
func (f *headInflater) refill() {
	if f.pos+8 <= len(f.in) {
		f.bits |= binary.LittleEndian.Uint64(f.in[f.pos:]) << f.nbits
		n := (63 - f.nbits) >> 3
		f.pos += int(n)
		f.nbits += n * 8
		return
	}
	for f.nbits <= 56 && f.pos < len(f.in) {
		f.bits |= uint64(f.in[f.pos]) << f.nbits
		f.pos++
		f.nbits += 8
	}
}

// take consumes n bits (n <= 32) and returns them.
func (f *headInflater) take(n uint) (uint32, error) {
	if f.nbits < n {
		f.refill()
		if f.nbits < n {
			return 0, errInflateEOF
		}
	}
	v := uint32(f.bits & (1<<n - 1))
	f.bits >>= n
	f.nbits -= n
	return v, nil
}

// sym decodes one symbol of h.
func (f *headInflater) sym(h *huffTable) (int, error) {
	if f.nbits < maxCodeLen {
		f.refill()
	}
	if e := h.fast[f.bits&(1<<h.fastBits-1)]; e != 0 {
		l := uint(e & 15)
		if l > f.nbits {
			return 0, errInflateEOF
		}
		f.bits >>= l
		f.nbits -= l
		return int(e >> 4), nil
	}
	// A code longer than the table: canonical decoding, a bit at a time.
	code, first, index := 0, 0, 0
	for l := uint(1); l <= h.maxLen; l++ {
		if l > f.nbits {
			return 0, errInflateEOF
		}
		code |= int(f.bits>>(l-1)) & 1
		count := int(h.count[l])
		if code-first < count {
			f.bits >>= l
			f.nbits -= l
			return int(h.symbol[index+code-first]), nil
		}
		index += count
		first = (first + count) << 1
		code <<= 1
	}
	return 0, errInflateCorrupt
}

// put appends one byte of output and says whether the output now ends in
// a blank line.
func (f *headInflater) put(b byte) bool {
	n := len(f.out)
	f.out = append(f.out, b)
	return b == '\n' && n > 0 && f.out[n-1] == '\n'
}

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	clenOrder   = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// head inflates the zlib stream src, which inflates to size bytes, into
// dst's storage, up to and including the first blank line, or whole when
// it has none. The result aliases dst's (grown) storage.
func (f *headInflater) head(dst, src []byte, size int) ([]byte, error) {
	if len(src) < 2 || src[0]&0x0f != 8 || src[0]>>4 > 7 || src[1]&0x20 != 0 || (uint(src[0])<<8|uint(src[1]))%31 != 0 {
		return nil, errInflateCorrupt
	}
	f.in, f.pos, f.bits, f.nbits = src, 2, 0, 0
	// Room for the whole object, or for any commit's headers when it is
	// bigger: put grows it when a header is longer.
	if c := min(size, 4096); cap(dst) < c {
		dst = make([]byte, 0, c)
	}
	f.out = dst[:0]
	defer func() { f.in = nil }()
	for {
		hdr, err := f.take(3)
		if err != nil {
			return nil, err
		}
		var lit, dist *huffTable
		switch hdr >> 1 {
		case 0:
			done, err := f.stored(size)
			if err != nil || done {
				return f.out, err
			}
		case 1:
			lit, dist = fixedTables()
		case 2:
			if err := f.dynamic(); err != nil {
				return nil, err
			}
			lit, dist = &f.lit, &f.dist
		default:
			return nil, errInflateCorrupt
		}
		if lit != nil {
			done, err := f.codes(lit, dist, size)
			if err != nil || done {
				return f.out, err
			}
		}
		if hdr&1 != 0 {
			if len(f.out) != size {
				return nil, errInflateSize
			}
			return f.out, nil
		}
	}
}

// stored copies a stored block; done: the output ends in a blank line.
func (f *headInflater) stored(size int) (bool, error) {
	// Drop to a byte boundary, then read from the bytes themselves.
	f.take(f.nbits & 7)
	f.pos -= int(f.nbits / 8)
	f.bits, f.nbits = 0, 0
	if f.pos+4 > len(f.in) {
		return false, errInflateEOF
	}
	n := int(binary.LittleEndian.Uint16(f.in[f.pos:]))
	if uint16(n) != ^binary.LittleEndian.Uint16(f.in[f.pos+2:]) {
		return false, errInflateCorrupt
	}
	f.pos += 4
	if f.pos+n > len(f.in) {
		return false, errInflateEOF
	}
	if len(f.out)+n > size {
		return false, errInflateSize
	}
	for _, b := range f.in[f.pos : f.pos+n] {
		f.pos++
		if f.put(b) {
			return true, nil
		}
	}
	return false, nil
}

// dynamic reads a block's Huffman codes into f.lit and f.dist.
func (f *headInflater) dynamic() error {
	v, err := f.take(14)
	if err != nil {
		return err
	}
	nlit, ndist, nclen := int(v&31)+257, int(v>>5&31)+1, int(v>>10)+4
	if nlit > 286 || ndist > 30 {
		return errInflateCorrupt
	}
	var cl [19]uint8
	for i := range nclen {
		v, err := f.take(3)
		if err != nil {
			return err
		}
		cl[clenOrder[i]] = uint8(v)
	}
	if err := f.clen.build(cl[:], usedOf(cl[:], f.used[:]), clenFastBits); err != nil {
		return err
	}
	lens := f.lens[:nlit+ndist]
	used := f.used[:0] // both codes' used symbols, the distances' from nlit on
	for i := 0; i < len(lens); {
		s, err := f.sym(&f.clen)
		if err != nil {
			return err
		}
		if s < 16 {
			lens[i] = uint8(s)
			if s != 0 {
				used = append(used, uint16(i))
			}
			i++
			continue
		}
		var rep uint32
		var val uint8
		switch s {
		case 16:
			if i == 0 {
				return errInflateCorrupt
			}
			val = lens[i-1]
			rep, err = f.take(2)
			rep += 3
		case 17:
			rep, err = f.take(3)
			rep += 3
		default:
			rep, err = f.take(7)
			rep += 11
		}
		if err != nil {
			return err
		}
		if i+int(rep) > len(lens) {
			return errInflateCorrupt
		}
		for range rep {
			lens[i] = val
			if val != 0 {
				used = append(used, uint16(i))
			}
			i++
		}
	}
	if lens[256] == 0 {
		return errInflateCorrupt // no end of block
	}
	split, _ := slices.BinarySearch(used, uint16(nlit))
	dist := used[split:]
	for k := range dist {
		dist[k] -= uint16(nlit)
	}
	if err := f.lit.build(lens[:nlit], used[:split], litFastBits); err != nil {
		return err
	}
	return f.dist.build(lens[nlit:], dist, distFastBits)
}

// codes decodes a compressed block's symbols up to its end; done: the
// output ends in a blank line.
func (f *headInflater) codes(lit, dist *huffTable, size int) (bool, error) {
	// Literals are most of a commit: they are decoded with the bit
	// buffer and output in locals, and f is synced only around a slow
	// code, a length and distance pair, or the end.
	bitbuf, nbits, pos, in, out := f.bits, f.nbits, f.pos, f.in, f.out
	mask := uint64(1)<<lit.fastBits - 1
	for {
		if nbits < maxCodeLen && pos+8 <= len(in) {
			bitbuf |= binary.LittleEndian.Uint64(in[pos:]) << nbits
			n := (63 - nbits) >> 3
			pos += int(n)
			nbits += n * 8
		}
		e := lit.fast[bitbuf&mask]
		if l := uint(e & 15); l != 0 && l <= nbits {
			bitbuf >>= l
			nbits -= l
			if s := e >> 4; s < 256 {
				if len(out) == size {
					return false, errInflateSize
				}
				out = append(out, byte(s))
				if s == '\n' && len(out) > 1 && out[len(out)-2] == '\n' {
					f.out = out
					return true, nil
				}
				continue
			}
		} else {
			e = 0 // decoded below, the slow way
		}
		f.bits, f.nbits, f.pos, f.out = bitbuf, nbits, pos, out
		done, end, err := f.slowCode(e, lit, dist, size)
		if err != nil || done || end {
			return done, err
		}
		bitbuf, nbits, pos, out = f.bits, f.nbits, f.pos, f.out
	}
}

// slowCode finishes the symbol whose table entry was e (0: not decoded
// yet): a literal behind a long code, the end of the block, or a length
// and distance pair. done: the output ends in a blank line; end: the
// block ended.
func (f *headInflater) slowCode(e uint16, lit, dist *huffTable, size int) (done, end bool, err error) {
	s := int(e >> 4)
	if e == 0 {
		if s, err = f.sym(lit); err != nil {
			return false, false, err
		}
	}
	switch {
	case s < 256:
		if len(f.out) == size {
			return false, false, errInflateSize
		}
		return f.put(byte(s)), false, nil
	case s == 256:
		return false, true, nil
	case s > 285:
		return false, false, errInflateCorrupt
	}
	s -= 257
	ext, err := f.take(uint(lengthExtra[s]))
	if err != nil {
		return false, false, err
	}
	n := int(lengthBase[s]) + int(ext)
	ds, err := f.sym(dist)
	if err != nil {
		return false, false, err
	}
	if ds >= 30 {
		return false, false, errInflateCorrupt
	}
	ext, err = f.take(uint(distExtra[ds]))
	if err != nil {
		return false, false, err
	}
	d := int(distBase[ds]) + int(ext)
	if d > len(f.out) {
		return false, false, errInflateCorrupt
	}
	if len(f.out)+n > size {
		return false, false, errInflateSize
	}
	for range n {
		if f.put(f.out[len(f.out)-d]) {
			return true, false, nil
		}
	}
	return false, false, nil
}
