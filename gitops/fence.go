package gitops

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/index"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// errFenced: a fetch lkg stopped waiting for tried to write afterwards.
var errFenced = errors.New("fetch abandoned: its writes are refused")

// fencedStore is the repository's storage as one fetch sees it: once
// closed, every write the fetch still attempts is refused.
//
// lkg stops waiting for a remote when its time budget runs out (withCtx),
// but go-git's fetch goroutine may be blocked where no context reaches (a
// dial, a transport's read) and wake up later; it would then write a pack
// and refs into the repository while the next fetch runs, or while refs
// are being packed. Closing the fence waits for a write in progress to
// finish and refuses every later one, so when fetchSpecs returns, the
// fetch has written all it ever will. The storage behind the fence is the
// fetch's own, over the same directory: the abandoned goroutine shares no
// caches or maps with the rest of lkg either.
type fencedStore struct {
	*filesystem.Storage
	mu     sync.RWMutex
	closed bool
}

func newFencedStore(st *filesystem.Storage) *fencedStore { return &fencedStore{Storage: st} }

// close refuses every write from now on, once those under way are done.
func (s *fencedStore) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// write runs f unless the fence is closed; close waits for it.
func (s *fencedStore) write(f func() error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return errFenced
	}
	return f()
}

// PackfileWriter writes a fetched pack through a writer that holds back
// the pack's last 20 bytes (its checksum) until Close: go-git's pack
// writer saves the pack on Close once it has parsed all of it, so a pack
// cut short by the fence is never saved.
func (s *fencedStore) PackfileWriter() (io.WriteCloser, error) {
	var w io.WriteCloser
	err := s.write(func() (err error) {
		w, err = s.Storage.PackfileWriter()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &fencedPackWriter{s: s, w: w}, nil
}

type fencedPackWriter struct {
	s    *fencedStore
	w    io.WriteCloser
	tail []byte // the last bytes written, up to 20, not yet passed on
}

const packTrailerLen = 20

func (w *fencedPackWriter) Write(p []byte) (int, error) {
	err := w.s.write(func() error {
		buf := append(w.tail, p...)
		cut := max(len(buf)-packTrailerLen, 0)
		if cut > 0 {
			if _, err := w.w.Write(buf[:cut]); err != nil {
				return err
			}
		}
		w.tail = append(w.tail[:0:0], buf[cut:]...)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close passes the checksum on and saves the pack, unless the fence is
// closed: then the pack stays incomplete and go-git's writer drops it.
func (w *fencedPackWriter) Close() error {
	err := w.s.write(func() error {
		if _, err := w.w.Write(w.tail); err != nil {
			w.w.Close()
			return err
		}
		return w.w.Close()
	})
	if errors.Is(err, errFenced) {
		w.w.Close()
	}
	return err
}

func (s *fencedStore) SetEncodedObject(o plumbing.EncodedObject) (h plumbing.Hash, err error) {
	err = s.write(func() error { h, err = s.Storage.SetEncodedObject(o); return err })
	return h, err
}

func (s *fencedStore) LazyWriter() (io.WriteCloser, func(typ plumbing.ObjectType, sz int64) error, error) {
	var w io.WriteCloser
	var wh func(plumbing.ObjectType, int64) error
	err := s.write(func() (err error) {
		w, wh, err = s.Storage.LazyWriter()
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return fencedWriter{s, w}, func(typ plumbing.ObjectType, sz int64) error {
		return s.write(func() error { return wh(typ, sz) })
	}, nil
}

// fencedWriter writes and closes through the fence.
type fencedWriter struct {
	s *fencedStore
	w io.WriteCloser
}

func (w fencedWriter) Write(p []byte) (n int, err error) {
	err = w.s.write(func() error { n, err = w.w.Write(p); return err })
	return n, err
}

func (w fencedWriter) Close() error { return w.s.write(w.w.Close) }

func (s *fencedStore) DeleteLooseObject(h plumbing.Hash) error {
	return s.write(func() error { return s.Storage.DeleteLooseObject(h) })
}

func (s *fencedStore) DeleteOldObjectPackAndIndex(h plumbing.Hash, t time.Time) error {
	return s.write(func() error { return s.Storage.DeleteOldObjectPackAndIndex(h, t) })
}

func (s *fencedStore) SetReference(ref *plumbing.Reference) error {
	return s.write(func() error { return s.Storage.SetReference(ref) })
}

func (s *fencedStore) CheckAndSetReference(ref, old *plumbing.Reference) error {
	return s.write(func() error { return s.Storage.CheckAndSetReference(ref, old) })
}

func (s *fencedStore) RemoveReference(n plumbing.ReferenceName) error {
	return s.write(func() error { return s.Storage.RemoveReference(n) })
}

func (s *fencedStore) PackRefs() error {
	return s.write(s.Storage.PackRefs)
}

func (s *fencedStore) SetShallow(commits []plumbing.Hash) error {
	return s.write(func() error { return s.Storage.SetShallow(commits) })
}

func (s *fencedStore) SetIndex(idx *index.Index) error {
	return s.write(func() error { return s.Storage.SetIndex(idx) })
}

func (s *fencedStore) SetConfig(c *config.Config) error {
	return s.write(func() error { return s.Storage.SetConfig(c) })
}

func (s *fencedStore) AddAlternate(remote string) error {
	return s.write(func() error { return s.Storage.AddAlternate(remote) })
}

func (s *fencedStore) Init() error {
	return s.write(s.Storage.Init)
}
