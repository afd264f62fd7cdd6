package gitops

import (
	"bytes"
	"fmt"
	"io"
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
