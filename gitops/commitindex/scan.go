package commitindex

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/lkg-dev/lkg/internal/packfile"
)

// scanObjectStore adds every commit in the packs and loose objects of
// objectsDir to b. It goes through each pack once, front to back, reading
// object headers and inflating only commits: go-git's type iteration
// resolves every delta, which costs seconds on a big repository. A
// deltified commit whose base is in no pack is read through go-git.
func scanObjectStore(objectsDir string, st *filesystem.Storage, b *Builder) error {
	dirs := objectDirs(objectsDir)
	packs, err := packfile.Open(dirs...)
	if err != nil {
		packs.Close()
		return err
	}
	defer packs.Close()
	r := packs.Reader()
	var c packfile.CommitHeader
	var deferred []plumbing.Hash
	for _, p := range packs.Packs() {
		entries, err := p.Entries()
		if err != nil {
			return fmt.Errorf("reading %s: %w", p.Path(), err)
		}
		for _, e := range entries {
			if e.Type != packfile.TypeCommit && e.Type != 0 {
				continue
			}
			typ, data, err := r.ReadAt(p, e.Offset)
			if err != nil {
				if e.Delta {
					// Deltas whose base lives in no pack may be anything.
					deferred = append(deferred, e.Hash)
					continue
				}
				return fmt.Errorf("reading %s: inflating commit %s: %w", p.Path(), e.Hash, err)
			}
			if typ != packfile.TypeCommit {
				continue
			}
			if err := packfile.ParseCommit(data, &c); err != nil {
				return fmt.Errorf("commit %s: %w", e.Hash, err)
			}
			b.Add(e.Hash, c.Tree, c.CommitTime(), c.Parents)
		}
	}
	for _, dir := range dirs {
		if err := scanLoose(dir, b); err != nil {
			return err
		}
	}
	for _, h := range deferred {
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

// scanLoose adds loose commit objects.
func scanLoose(objectsDir string, b *Builder) error {
	names, err := looseObjects(objectsDir)
	if err != nil {
		return err
	}
	var zr io.ReadCloser
	var buf bytes.Buffer
	var c packfile.CommitHeader
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
		if err := packfile.ParseCommit(body, &c); err != nil {
			return fmt.Errorf("commit %s: %w", name, err)
		}
		b.Add(plumbing.NewHash(name), c.Tree, c.CommitTime(), c.Parents)
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
