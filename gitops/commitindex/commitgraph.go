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
// layers) into b. It returns false with no error when the repository has
// none. go-git's commitgraph/v2 package reads files and chains too, but
// through an Index that decodes one commit per call and never verifies the
// checksum; lkg needs every commit at once, so it reads the format
// (gitformat-commit-graph(5)) itself, checksum first, so a corrupt file is
// refused rather than trusted.
func readCommitGraph(objectsDir string, b *Builder) (bool, error) {
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
				return false, fmt.Errorf("%w: bad line %q in %s", errGraphCorrupt, line, chain)
			}
			files = append(files, filepath.Join(objectsDir, "info", "commit-graphs", "graph-"+line+".graph"))
		}
		if len(files) == 0 {
			return false, fmt.Errorf("%w: empty %s", errGraphCorrupt, chain)
		}
	} else if _, err := os.Stat(filepath.Join(objectsDir, "info", "commit-graph")); err == nil {
		files = []string{filepath.Join(objectsDir, "info", "commit-graph")}
	} else {
		return false, nil
	}
	// Layers share one position space: a parent position below the number
	// of commits in lower layers points into them.
	var all []plumbing.Hash
	type layerInfo struct {
		data             []byte
		oidl, cdat, edge []byte
		n                int
		base             int
	}
	var layers []layerInfo
	for li, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return false, fmt.Errorf("%w: %w", errGraphCorrupt, err)
		}
		l, err := parseGraphFile(data, f)
		if err != nil {
			return false, err
		}
		if l.numBase != li {
			return false, fmt.Errorf("%w: %s has %d base layers, chain says %d", errGraphCorrupt, f, l.numBase, li)
		}
		for i := 0; i < l.numBase; i++ {
			var h plumbing.Hash
			copy(h[:], l.baseChunk[i*20:])
			want := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(files[i]), "graph-"), ".graph")
			if h.String() != want {
				return false, fmt.Errorf("%w: %s base %d is %s, chain says %s", errGraphCorrupt, f, i, h, want)
			}
		}
		layers = append(layers, layerInfo{data: data, oidl: l.oidl, cdat: l.cdat, edge: l.edge, n: l.n, base: len(all)})
		for i := 0; i < l.n; i++ {
			var h plumbing.Hash
			copy(h[:], l.oidl[i*20:])
			all = append(all, h)
		}
	}
	total := uint32(len(all))
	b.grow(len(all), len(all)+len(all)/4) // not a dozen doublings at a million commits
	parents := make([]plumbing.Hash, 0, 4)
	for _, l := range layers {
		for i := 0; i < l.n; i++ {
			rec := l.cdat[i*36 : i*36+36]
			var tree plumbing.Hash
			copy(tree[:], rec[:20])
			p1 := binary.BigEndian.Uint32(rec[20:])
			p2 := binary.BigEndian.Uint32(rec[24:])
			w1 := binary.BigEndian.Uint32(rec[28:])
			w2 := binary.BigEndian.Uint32(rec[32:])
			when := int64(uint64(w1&3)<<32 | uint64(w2))
			parents = parents[:0]
			const none = 0x70000000
			if p1 != none {
				if p1 >= total {
					return false, fmt.Errorf("%w: parent position %d out of range", errGraphCorrupt, p1)
				}
				parents = append(parents, all[p1])
			}
			switch {
			case p2 == none:
			case p2&0x80000000 == 0:
				if p2 >= total {
					return false, fmt.Errorf("%w: parent position %d out of range", errGraphCorrupt, p2)
				}
				parents = append(parents, all[p2])
			default:
				// An octopus: the rest of the parents sit in the EDGE chunk,
				// the last one flagged with the high bit.
				k := int(p2 & 0x7fffffff)
				for {
					if (k+1)*4 > len(l.edge) {
						return false, fmt.Errorf("%w: extra edge %d out of range", errGraphCorrupt, k)
					}
					e := binary.BigEndian.Uint32(l.edge[k*4:])
					pos := e & 0x7fffffff
					if pos >= total {
						return false, fmt.Errorf("%w: parent position %d out of range", errGraphCorrupt, pos)
					}
					parents = append(parents, all[pos])
					if e&0x80000000 != 0 {
						break
					}
					k++
				}
			}
			b.Add(all[l.base+i], tree, when, parents)
		}
	}
	return true, nil
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
