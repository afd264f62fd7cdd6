package packfile

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// ObjectDirs is objectsDir followed by its alternates (clones made with
// --reference or --shared keep most commits there), one level deep.
func ObjectDirs(objectsDir string) []string {
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

// FindPrefix returns up to limit objects of the pack whose hex name starts
// with prefix (lowercase hex, at least two digits), in hash order: a
// binary search of the .idx, as for Find.
func (p *Pack) FindPrefix(prefix string, limit int) []plumbing.Hash {
	if len(prefix) < 2 || len(prefix) > 40 {
		return nil
	}
	// The smallest hash with the prefix: its digits, then zeros.
	var lo plumbing.Hash
	padded := prefix + strings.Repeat("0", 40-len(prefix))
	if _, err := hex.Decode(lo[:], []byte(padded)); err != nil {
		return nil
	}
	i, end := p.search(lo)
	var out []plumbing.Hash
	for ; i < end && len(out) < limit; i++ {
		var h plumbing.Hash
		copy(h[:], p.names[i*20:i*20+20])
		if !strings.HasPrefix(h.String(), prefix) {
			break
		}
		out = append(out, h)
	}
	return out
}
