package suspects

import (
	"bytes"
	"hash/maphash"
)

// maxD bounds the Myers search for one file (myersWork
// bounds it further for long files). Past it the counts come from comparing
// the two sides' lines as multisets: exact for pure additions and
// deletions, a lower bound for moved lines, and linear in the file's size
// however different the sides are.
const maxD = 4096

var seed = maphash.MakeSeed()

// lineCounts counts the lines added and deleted between a and b,
// like `git diff --numstat` (a last line without a newline differs from the
// same line with one). It trims the common head and tail, hashes the
// remaining lines, and runs Myers' O(ND) search for the edit distance D only:
// the longest common subsequence is (N+M-D)/2, so added = M-LCS and
// deleted = N-LCS, and no edit script is ever built.
func lineCounts(a, b []byte) (added, deleted int) {
	// Trim the common prefix, back to a line boundary.
	p := 0
	for p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	if p == len(a) && p == len(b) {
		return 0, 0
	}
	p = bytes.LastIndexByte(a[:p], '\n') + 1
	a, b = a[p:], b[p:]
	// Trim the common suffix, forward to a line start: the byte before the
	// shared tail must end a line on both sides (or be the start).
	s := 0
	for s < len(a) && s < len(b) && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	for s > 0 {
		ia, ib := len(a)-s, len(b)-s
		if (ia == 0 || a[ia-1] == '\n') && (ib == 0 || b[ib-1] == '\n') {
			break
		}
		s--
	}
	a, b = a[:len(a)-s], b[:len(b)-s]
	return countHashed(hashLines(a), hashLines(b))
}

// countHashed is lineCounts over lines already hashed (a
// worker keeps each blob's hashes, since a file's new side in one unit is
// its old side in the next).
func countHashed(x, y []uint64) (added, deleted int) {
	for len(x) > 0 && len(y) > 0 && x[0] == y[0] {
		x, y = x[1:], y[1:]
	}
	for len(x) > 0 && len(y) > 0 && x[len(x)-1] == y[len(y)-1] {
		x, y = x[:len(x)-1], y[:len(y)-1]
	}
	if len(x) == 0 || len(y) == 0 {
		return len(y), len(x)
	}
	n, m := len(x), len(y)
	// A line that appears on one side only can be in no common
	// subsequence: dropping such lines leaves the longest common
	// subsequence, and so the counts, unchanged, and shrinks a rewrite
	// (a regenerated or vendored file) to the lines that could match.
	if n+m > filterMin {
		x, y = dropUnique(x, y)
		if len(x) == 0 || len(y) == 0 {
			return m, n
		}
	}
	// Bound the O((N+M)D) search by work, not by D alone.
	maxD := min(maxD, max(64, myersWork/(len(x)+len(y))))
	d, ok := myersD(x, y, maxD)
	if !ok {
		return multisetCounts(x, y, n, m)
	}
	lcs := (len(x) + len(y) - d) / 2
	return m - lcs, n - lcs
}

// filterMin is the size (old plus new lines) above which unique
// lines are dropped before the search; below it the map costs more than it
// saves.
const filterMin = 256

// myersWork bounds one file's Myers search, in diagonal steps.
const myersWork = 64 << 20

// dropUnique removes from each side the lines the other side lacks.
func dropUnique(x, y []uint64) ([]uint64, []uint64) {
	inX := make(map[uint64]struct{}, len(x))
	for _, h := range x {
		inX[h] = struct{}{}
	}
	inY := make(map[uint64]struct{}, len(y))
	for _, h := range y {
		inY[h] = struct{}{}
	}
	fx := make([]uint64, 0, len(x))
	for _, h := range x {
		if _, ok := inY[h]; ok {
			fx = append(fx, h)
		}
	}
	fy := make([]uint64, 0, len(y))
	for _, h := range y {
		if _, ok := inX[h]; ok {
			fy = append(fy, h)
		}
	}
	return fx, fy
}

// hashLines hashes each line, its newline included.
func hashLines(b []byte) []uint64 {
	if len(b) == 0 {
		return nil
	}
	out := make([]uint64, 0, bytes.Count(b, []byte{'\n'})+1)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var line []byte
		if i < 0 {
			line, b = b, nil
		} else {
			line, b = b[:i+1], b[i+1:]
		}
		out = append(out, maphash.Bytes(seed, line))
	}
	return out
}

// myersD is the length of the shortest edit script between x and y
// (insertions plus deletions), or false when it exceeds maxD.
func myersD(x, y []uint64, maxD int) (int, bool) {
	n, m := len(x), len(y)
	max := n + m
	if maxD > max {
		maxD = max
	}
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				i = v[off+k+1] // down: an insertion
			} else {
				i = v[off+k-1] + 1 // right: a deletion
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i++
				j++
			}
			v[off+k] = i
			if i >= n && j >= m {
				return d, true
			}
		}
	}
	return 0, false
}

// multisetCounts is the fallback past the search bound: x and y
// (what is left of n old and m new lines) are matched as multisets,
// ignoring order. Exact for pure additions and deletions, it undercounts
// moved lines.
func multisetCounts(x, y []uint64, n, m int) (added, deleted int) {
	seen := make(map[uint64]int, len(x))
	for _, h := range x {
		seen[h]++
	}
	common := 0
	for _, h := range y {
		if seen[h] > 0 {
			seen[h]--
			common++
		}
	}
	return m - common, n - common
}

// isBinary uses git's rule: a NUL byte in the first 8000 bytes.
func isBinary(b []byte) bool {
	if len(b) > 8000 {
		b = b[:8000]
	}
	return bytes.IndexByte(b, 0) >= 0
}
