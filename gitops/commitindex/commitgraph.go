package commitindex

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/text"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// errGraphCorrupt marks a commit-graph file lkg will not trust; the caller
// falls back to the object store.
var errGraphCorrupt = errors.New("commit-graph file is corrupt")

// readCommitGraph loads git's commit-graph (a single file or a chain of
// layers) into a table. It returns nil with no error when the repository
// has none. go-git's commitgraph/v2 package reads files and chains too, but
// through an Index that decodes one commit per call and never verifies the
// checksum; lkg needs every commit at once, so it reads the format
// (gitformat-commit-graph(5)) itself, checksum first, so a corrupt file is
// refused rather than trusted.
//
// The graph already links parents by position and records each commit's
// topological level, so the table is built from it directly: no parent is
// looked up by hash, and the levels are checked, not computed (at a
// million commits, going through Builder was half of a run).
func readCommitGraph(objectsDir string) (*Table, error) {
	var files []string
	chain := filepath.Join(objectsDir, "info", "commit-graphs", "commit-graph-chain")
	if data, err := os.ReadFile(chain); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" {
				continue
			}
			if len(line) != 40 || !text.IsHex(line) {
				return nil, fmt.Errorf("%w: bad line %q in %s", errGraphCorrupt, line, chain)
			}
			files = append(files, filepath.Join(objectsDir, "info", "commit-graphs", "graph-"+line+".graph"))
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%w: empty %s", errGraphCorrupt, chain)
		}
	} else if _, err := os.Stat(filepath.Join(objectsDir, "info", "commit-graph")); err == nil {
		files = []string{filepath.Join(objectsDir, "info", "commit-graph")}
	} else {
		return nil, nil
	}
	// Layers share one position space: a parent position below the number
	// of commits in lower layers points into them.
	var layers []graphFile
	total := 0
	for li, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errGraphCorrupt, err)
		}
		l, err := parseGraphFile(data, f)
		if err != nil {
			return nil, err
		}
		if l.numBase != li {
			return nil, fmt.Errorf("%w: %s has %d base layers, chain says %d", errGraphCorrupt, f, l.numBase, li)
		}
		for i := 0; i < l.numBase; i++ {
			var h plumbing.Hash
			copy(h[:], l.baseChunk[i*20:])
			want := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(files[i]), "graph-"), ".graph")
			if h.String() != want {
				return nil, fmt.Errorf("%w: %s base %d is %s, chain says %s", errGraphCorrupt, f, i, h, want)
			}
		}
		layers = append(layers, l)
		total += l.n
	}
	if total >= 1<<31 {
		return nil, fmt.Errorf("%w: %d commits", errGraphCorrupt, total)
	}

	// Every commit's hash in position order, and the table's order: one
	// file is sorted already; a chain's layers each are, not their union.
	all := make([]plumbing.Hash, 0, total)
	for _, l := range layers {
		for i := 0; i < l.n; i++ {
			all = append(all, plumbing.Hash(l.oidl[i*20:i*20+20]))
		}
	}
	var perm []uint32 // table index -> position; nil: the same
	for i := 1; i < total; i++ {
		if compareHashes(&all[i-1], &all[i]) >= 0 {
			perm = sortByHash(all)
			break
		}
	}
	at := func(i int) int { // table index -> position
		if perm == nil {
			return i
		}
		return int(perm[i])
	}
	var inv []uint32 // position -> table index
	if perm != nil {
		inv = make([]uint32, total)
		for i, p := range perm {
			inv[p] = uint32(i)
		}
	}
	index := func(pos uint32) uint32 {
		if inv == nil {
			return pos
		}
		return inv[pos]
	}
	// A position's layer and its index there.
	locate := func(pos int) (*graphFile, int) {
		for li := range layers {
			if pos < layers[li].n {
				return &layers[li], pos
			}
			pos -= layers[li].n
		}
		return nil, 0
	}

	t := &Table{
		hashes:      make([]plumbing.Hash, total),
		trees:       make([]plumbing.Hash, total),
		times:       make([]int64, total),
		gens:        make([]uint32, total),
		parentStart: make([]uint32, total+1),
		parents:     make([]uint32, 0, total+total/4),
		fromGraph:   true,
	}
	const none = 0x70000000
	for i := 0; i < total; i++ {
		pos := at(i)
		l, k := locate(pos)
		rec := l.cdat[k*36 : k*36+36]
		t.hashes[i] = all[pos]
		t.trees[i] = plumbing.Hash(rec[:20])
		p1 := binary.BigEndian.Uint32(rec[20:])
		p2 := binary.BigEndian.Uint32(rec[24:])
		w1 := binary.BigEndian.Uint32(rec[28:])
		w2 := binary.BigEndian.Uint32(rec[32:])
		t.times[i] = int64(uint64(w1&3)<<32 | uint64(w2))
		t.gens[i] = w1 >> 2
		t.parentStart[i] = uint32(len(t.parents))
		if p1 != none {
			if p1 >= uint32(total) {
				return nil, fmt.Errorf("%w: parent position %d out of range", errGraphCorrupt, p1)
			}
			t.parents = append(t.parents, index(p1))
		}
		switch {
		case p2 == none:
		case p2&0x80000000 == 0:
			if p2 >= uint32(total) {
				return nil, fmt.Errorf("%w: parent position %d out of range", errGraphCorrupt, p2)
			}
			t.parents = append(t.parents, index(p2))
		default:
			// An octopus: the rest of the parents sit in the EDGE chunk,
			// the last one flagged with the high bit.
			for e := int(p2 & 0x7fffffff); ; e++ {
				if (e+1)*4 > len(l.edge) {
					return nil, fmt.Errorf("%w: extra edge %d out of range", errGraphCorrupt, e)
				}
				v := binary.BigEndian.Uint32(l.edge[e*4:])
				if v&0x7fffffff >= uint32(total) {
					return nil, fmt.Errorf("%w: parent position %d out of range", errGraphCorrupt, v&0x7fffffff)
				}
				t.parents = append(t.parents, index(v&0x7fffffff))
				if v&0x80000000 != 0 {
					break
				}
			}
		}
	}
	t.parentStart[total] = uint32(len(t.parents))
	for i := 1; i < total; i++ {
		if t.hashes[i-1] == t.hashes[i] {
			return nil, fmt.Errorf("%w: commit %s listed twice", errGraphCorrupt, t.hashes[i])
		}
	}
	t.index()
	if !t.levelsHold() {
		// Written by a git that stored no levels (zero), or capped them:
		// computed here instead.
		t.gens = nil
		t.computeGenerations()
		return t, nil
	}
	t.sortByGen()
	return t, nil
}

// levelsHold says whether t.gens are topological levels: 1 for a root,
// one more than the highest parent otherwise.
func (t *Table) levelsHold() bool {
	for i := range t.hashes {
		var g uint32
		for _, p := range t.parentsOf(uint32(i)) {
			g = max(g, t.gens[p])
		}
		if t.gens[i] != g+1 {
			return false
		}
	}
	return true
}

type graphFile struct {
	n                           int
	numBase                     int
	oidl, cdat, edge, baseChunk []byte
}

func parseGraphFile(data []byte, name string) (graphFile, error) {
	var g graphFile
	bad := func(why string) (graphFile, error) {
		return g, fmt.Errorf("%w: %s: %s", errGraphCorrupt, name, why)
	}
	if len(data) < 8+12+20 || string(data[:4]) != "CGPH" {
		return bad("no CGPH header")
	}
	if data[4] != 1 || data[5] != 1 {
		return bad(fmt.Sprintf("version %d, hash version %d unsupported", data[4], data[5]))
	}
	body := data[:len(data)-20]
	sum := sha1.Sum(body)
	if !bytes.Equal(sum[:], data[len(data)-20:]) {
		return bad("checksum mismatch")
	}
	nChunks := int(data[6])
	g.numBase = int(data[7])
	if 8+(nChunks+1)*12 > len(body) {
		return bad("chunk table truncated")
	}
	var fanout []byte
	for i := 0; i < nChunks; i++ {
		e := data[8+i*12:]
		id := string(e[:4])
		start := binary.BigEndian.Uint64(e[4:])
		end := binary.BigEndian.Uint64(e[16:])
		if start > end || end > uint64(len(body)) {
			return bad("chunk " + id + " out of range")
		}
		chunk := data[start:end]
		switch id {
		case "OIDF":
			fanout = chunk
		case "OIDL":
			g.oidl = chunk
		case "CDAT":
			g.cdat = chunk
		case "EDGE":
			g.edge = chunk
		case "BASE":
			g.baseChunk = chunk
		}
	}
	if len(fanout) != 256*4 || g.oidl == nil || g.cdat == nil {
		return bad("missing OIDF, OIDL or CDAT chunk")
	}
	g.n = int(binary.BigEndian.Uint32(fanout[255*4:]))
	if len(g.oidl) != g.n*20 || len(g.cdat) != g.n*36 || len(g.baseChunk) != g.numBase*20 {
		return bad("chunk sizes disagree with the commit count")
	}
	return g, nil
}
