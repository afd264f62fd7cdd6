package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/rogpeppe/go-internal/lockedfile"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrTargetBusy: another process in this clone holds the lock of the
// target it was asked to move.
var ErrTargetBusy = errors.New("another lkg is moving this target")

// lockWait is how long LockTarget waits for a lock another process holds
// before it says the target is busy.
const lockWait = 250 * time.Millisecond

// LockTarget takes this clone's lock on moving target (deploy and undo
// hold it from the plan to the last read-back). When another process
// holds it, it returns ErrTargetBusy with who holds it, after a short
// wait. The lock is a lockedfile.Mutex on <gitdir>/lkg/locks/<hash of
// target>.lock (an flock on Unix, LockFileEx on Windows), so it goes away
// with the process that held it; unlock releases it sooner. Registries
// have no conditional write, so this is what keeps two lkg runs in one
// clone from racing; runs from other clones are caught only by reading
// the target back.
func (j *Journal) LockTarget(target string) (unlock func(), err error) {
	dir := filepath.Join(j.dir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("locking %s: %w: %w", target, ErrNotWritable, err)
	}
	sum := sha256.Sum256([]byte(target))
	path := filepath.Join(dir, hex.EncodeToString(sum[:8])+".lock")
	type locked struct {
		unlock func()
		err    error
	}
	got := make(chan locked, 1)
	go func() {
		unlock, err := lockedfile.MutexAt(path).Lock()
		got <- locked{unlock, err}
	}()
	t := time.NewTimer(lockWait)
	defer t.Stop()
	select {
	case l := <-got:
		if l.err != nil {
			return nil, fmt.Errorf("locking %s: %w", target, l.err)
		}
		// Who holds it, for the message another process prints.
		_ = os.WriteFile(path+".who", fmt.Appendf(nil, "pid %d since %s\n", os.Getpid(), j.opts.clock().UTC().Format(time.RFC3339)), 0o644)
		return l.unlock, nil
	case <-t.C:
		// The waiting Lock is let go the moment it is granted.
		go func() {
			if l := <-got; l.err == nil {
				l.unlock()
			}
		}()
		who := "another process"
		if holder, err := os.ReadFile(path + ".who"); err == nil && len(holder) > 0 && len(holder) < 512 {
			who = strings.TrimSpace(string(holder))
		}
		return nil, fmt.Errorf("%w: %s (%s)", ErrTargetBusy, target, who)
	}
}
