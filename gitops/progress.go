package gitops

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
)

// progressf draws one progress line on the WithProgress writer, if any.
func (r *Repo) progressf(format string, args ...any) {
	if r.opts.progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	fmt.Fprintf(r.opts.progress, "\r\033[K%s", fmt.Sprintf(format, args...))
	r.progressDrawn = true
}

// progressDone clears the progress line.
func (r *Repo) progressDone() {
	if r.opts.progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	if r.progressDrawn {
		fmt.Fprint(r.opts.progress, "\r\033[K")
		r.progressDrawn = false
	}
}

// progressWriter passes the server's progress (objects counted and
// received, bytes) to the progress line, prefixed with the remote's name;
// nil without WithProgress, which also tells the server to send none.
func (r *Repo) progressWriter(rm *remoteInfo) sideband.Progress {
	if r.opts.progress == nil {
		return nil
	}
	return &remoteProgress{r: r, name: rm.name}
}

type remoteProgress struct {
	r    *Repo
	name string
	mu   sync.Mutex
	line []byte
}

func (p *remoteProgress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range b {
		if c == '\r' || c == '\n' {
			if l := bytes.TrimSpace(p.line); len(l) > 0 {
				p.r.progressf("%s: %s", p.name, l)
			}
			p.line = p.line[:0]
			continue
		}
		p.line = append(p.line, c)
	}
	return len(b), nil
}

var _ io.Writer = (*remoteProgress)(nil)

// packStats is the number of objects and bytes of the packs in dir.
type packStats map[string][2]int64

func readPackStats(gitDir string) packStats {
	st := packStats{}
	idxs, _ := filepath.Glob(filepath.Join(gitDir, "objects", "pack", "pack-*.idx"))
	for _, idx := range idxs {
		fi, err := os.Stat(strings.TrimSuffix(idx, ".idx") + ".pack")
		if err != nil {
			continue
		}
		st[idx] = [2]int64{idxObjects(idx), fi.Size()}
	}
	return st
}

// idxObjects reads the object count of a version 2 .idx: the last fanout
// entry.
func idxObjects(idx string) int64 {
	f, err := os.Open(idx)
	if err != nil {
		return 0
	}
	defer f.Close()
	var b [4]byte
	if _, err := f.ReadAt(b[:], 8+255*4); err != nil {
		return 0
	}
	return int64(binary.BigEndian.Uint32(b[:]))
}

// since sums the objects and bytes of the packs not in before.
func (after packStats) since(before packStats) (objects, bytes int64) {
	for k, v := range after {
		if _, ok := before[k]; !ok {
			objects += v[0]
			bytes += v[1]
		}
	}
	return objects, bytes
}

// humanBytes prints a byte count the way git's progress does.
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
