package commitindex

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Pack object types (gitformat-pack(5)).
const (
	packCommit   = 1
	packOfsDelta = 6
	packRefDelta = 7
)

// scanObjectStore adds every commit in the packs and loose objects of
// objectsDir to b. It reads each pack once, front to back, looking only at
// object headers and inflating only commits: go-git's type iteration
// resolves every delta, which costs seconds on a big repository. The rare
// deltified commit is read through go-git.
func scanObjectStore(objectsDir string, st *filesystem.Storage, b *Builder) error {
	var deferred []plumbing.Hash
	for _, dir := range objectDirs(objectsDir) {
		packs, _ := filepath.Glob(filepath.Join(dir, "pack", "pack-*.idx"))
		for _, idx := range packs {
			packPath := idx[:len(idx)-len(".idx")] + ".pack"
			d, err := scanPack(idx, packPath, b)
			if err != nil {
				return fmt.Errorf("reading %s: %w", packPath, err)
			}
			deferred = append(deferred, d...)
		}
		if err := scanLoose(dir, b); err != nil {
			return err
		}
	}
	for _, h := range deferred {
		// Deltas whose base lives in another pack may be anything.
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

// objectDirs is objectsDir followed by its alternates (clones made with
// --reference or --shared keep most commits there), one level deep.
func objectDirs(objectsDir string) []string {
	dirs := []string{objectsDir}
	data, err := os.ReadFile(filepath.Join(objectsDir, "info", "alternates"))
	if err != nil {
		return dirs
	}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(objectsDir, line)
		}
		dirs = append(dirs, filepath.Clean(line))
	}
	return dirs
}

type packEntry struct {
	offset uint64
	hash   plumbing.Hash
}

// readPackIndex parses a version 2 pack index.
func readPackIndex(path string) ([]packEntry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) < 8+1024 || !bytes.Equal(data[:4], []byte{0xff, 't', 'O', 'c'}) || binary.BigEndian.Uint32(data[4:]) != 2 {
		return nil, errors.New("not a version 2 pack index")
	}
	n := int(binary.BigEndian.Uint32(data[8+255*4:]))
	hashes := 8 + 1024
	offs := hashes + n*20 + n*4
	large := offs + n*4
	if len(data) < large+40 {
		return nil, errors.New("pack index truncated")
	}
	entries := make([]packEntry, n)
	for i := range entries {
		copy(entries[i].hash[:], data[hashes+i*20:])
		o := binary.BigEndian.Uint32(data[offs+i*4:])
		if o&0x80000000 == 0 {
			entries[i].offset = uint64(o)
			continue
		}
		k := large + int(o&0x7fffffff)*8
		if k+8 > len(data)-40 {
			return nil, errors.New("pack index large offset out of range")
		}
		entries[i].offset = binary.BigEndian.Uint64(data[k:])
	}
	return entries, nil
}

// scanPack returns the hashes of commits stored as deltas (to be read
// through go-git) and adds the others to b.
func scanPack(idxPath, packPath string, b *Builder) ([]plumbing.Hash, error) {
	entries, err := readPackIndex(idxPath)
	if err != nil {
		return nil, err
	}
	var byHash map[plumbing.Hash]uint64 // built on the first ref-delta
	sort.Slice(entries, func(i, j int) bool { return entries[i].offset < entries[j].offset })
	f, err := os.Open(packPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	end := uint64(fi.Size()) - 20
	br := bufio.NewReaderSize(f, 1<<20)
	pos := uint64(0)
	// types[i] is entry i's resolved type (0: not known yet); entries are
	// in offset order, so a delta's base is found by binary search.
	types := make([]byte, len(entries))
	at := func(off uint64) int {
		i := sort.Search(len(entries), func(i int) bool { return entries[i].offset >= off })
		if i < len(entries) && entries[i].offset == off {
			return i
		}
		return -1
	}
	type refDelta struct {
		hash plumbing.Hash
		base plumbing.Hash
	}
	var refDeltas []refDelta
	var deferred []plumbing.Hash
	var zr io.ReadCloser
	var buf bytes.Buffer
	var comp []byte
	for i, e := range entries {
		if e.offset < pos {
			return nil, errors.New("overlapping pack entries")
		}
		if gap := e.offset - pos; gap > 4<<20 {
			// A big blob: seek past it rather than read it.
			if _, err := f.Seek(int64(e.offset), io.SeekStart); err != nil {
				return nil, fmt.Errorf("seeking to object %s: %w", e.hash, err)
			}
			br.Reset(f)
		} else if _, err := br.Discard(int(gap)); err != nil {
			return nil, fmt.Errorf("seeking to object %s: %w", e.hash, err)
		}
		pos = e.offset
		next := end
		if i+1 < len(entries) {
			next = entries[i+1].offset
		}
		// Header: type and size varint, then the delta base if any.
		c, err := br.ReadByte()
		if err != nil {
			return nil, err
		}
		pos++
		typ := (c >> 4) & 7
		for c&0x80 != 0 {
			if c, err = br.ReadByte(); err != nil {
				return nil, err
			}
			pos++
		}
		switch typ {
		case packOfsDelta:
			c, err := br.ReadByte()
			if err != nil {
				return nil, err
			}
			pos++
			rel := uint64(c & 0x7f)
			for c&0x80 != 0 {
				if c, err = br.ReadByte(); err != nil {
					return nil, err
				}
				pos++
				rel = ((rel + 1) << 7) | uint64(c&0x7f)
			}
			bi := at(e.offset - rel)
			if bi < 0 || types[bi] == 0 {
				return nil, fmt.Errorf("delta %s has no base at offset %d", e.hash, e.offset-rel)
			}
			bt := types[bi]
			types[i] = bt
			if bt == packCommit {
				deferred = append(deferred, e.hash)
			}
			continue
		case packRefDelta:
			var base plumbing.Hash
			if _, err := io.ReadFull(br, base[:]); err != nil {
				return nil, err
			}
			pos += 20
			if byHash == nil {
				byHash = make(map[plumbing.Hash]uint64, len(entries))
				for _, x := range entries {
					byHash[x.hash] = x.offset
				}
			}
			if bo, ok := byHash[base]; ok {
				if bt := types[at(bo)]; bt != 0 {
					types[i] = bt
					if bt == packCommit {
						deferred = append(deferred, e.hash)
					}
					continue
				}
			}
			refDeltas = append(refDeltas, refDelta{e.hash, base})
			continue
		}
		types[i] = typ
		if typ != packCommit {
			continue
		}
		// A commit: inflate exactly its compressed extent.
		n := int(next - pos)
		if n < 0 {
			return nil, errors.New("bad pack entry extent")
		}
		if cap(comp) < n {
			comp = make([]byte, n)
		}
		comp = comp[:n]
		if _, err := io.ReadFull(br, comp); err != nil {
			return nil, err
		}
		pos += uint64(n)
		if zr == nil {
			zr, err = zlib.NewReader(bytes.NewReader(comp))
		} else {
			err = zr.(zlib.Resetter).Reset(bytes.NewReader(comp), nil)
		}
		if err != nil {
			return nil, fmt.Errorf("inflating commit %s: %w", e.hash, err)
		}
		buf.Reset()
		if _, err := buf.ReadFrom(zr); err != nil {
			return nil, fmt.Errorf("inflating commit %s: %w", e.hash, err)
		}
		if err := addRawCommit(b, e.hash, buf.Bytes()); err != nil {
			return nil, err
		}
	}
	// Bases later in the pack (or in another pack): resolve now.
	for len(refDeltas) > 0 {
		progress := false
		rest := refDeltas[:0]
		for _, d := range refDeltas {
			bo, ok := byHash[d.base]
			if !ok {
				// Base in another pack: let go-git decide.
				deferred = append(deferred, d.hash)
				progress = true
				continue
			}
			bt := types[at(bo)]
			if bt == 0 {
				rest = append(rest, d)
				continue
			}
			types[at(byHash[d.hash])] = bt
			if bt == packCommit {
				deferred = append(deferred, d.hash)
			}
			progress = true
		}
		refDeltas = rest
		if !progress {
			return nil, errors.New("unresolvable ref-delta chain")
		}
	}
	return deferred, nil
}

// addRawCommit parses a commit object's body: the header lines up to the
// first blank line are all that matter.
func addRawCommit(b *Builder, h plumbing.Hash, data []byte) error {
	var tree plumbing.Hash
	var parents [8]plumbing.Hash
	ps := parents[:0]
	var when int64
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			nl = len(data)
		}
		line := data[:nl]
		if nl < len(data) {
			data = data[nl+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			break
		}
		switch {
		case bytes.HasPrefix(line, []byte("tree ")):
			if _, err := hex.Decode(tree[:], line[5:]); err != nil || len(line) != 45 {
				return fmt.Errorf("commit %s: bad tree line", h)
			}
		case bytes.HasPrefix(line, []byte("parent ")):
			var p plumbing.Hash
			if _, err := hex.Decode(p[:], line[7:]); err != nil || len(line) != 47 {
				return fmt.Errorf("commit %s: bad parent line", h)
			}
			ps = append(ps, p)
		case bytes.HasPrefix(line, []byte("committer ")):
			// "committer Name <email> 1700000000 +0100"
			gt := bytes.LastIndexByte(line, '>')
			if gt < 0 {
				break
			}
			f := bytes.Fields(line[gt+1:])
			if len(f) > 0 {
				when, _ = strconv.ParseInt(string(f[0]), 10, 64)
			}
		}
	}
	b.Add(h, tree, when, ps)
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
		if err := addRawCommit(b, plumbing.NewHash(name), body); err != nil {
			return err
		}
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
			if n := e.Name(); len(n) == 38 && isHex(n) {
				names = append(names, dir+n)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}
