package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrTargetBusy: another process in this clone holds the lock of the
// target it was asked to move.
var ErrTargetBusy = errors.New("another lkg is moving this target")

// LockTarget takes this clone's lock on moving target (deploy and undo
// hold it from the plan to the last read-back), without waiting: when
// another process holds it, it returns ErrTargetBusy with who holds it.
// The lock is an flock on <gitdir>/lkg/locks/<hash of target>.lock, so it
// goes away with the process that held it; unlock releases it sooner.
// Registries have no conditional write, so this is what keeps two lkg
// runs in one clone from racing; runs from other clones are caught only by
// reading the target back.
func (j *Journal) LockTarget(target string) (unlock func(), err error) {
	dir := filepath.Join(j.dir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("locking %s: %w: %w", target, ErrNotWritable, err)
	}
	sum := sha256.Sum256([]byte(target))
	path := filepath.Join(dir, hex.EncodeToString(sum[:8])+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", target, err)
	}
	ok, err := tryLockFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", target, err)
	}
	if !ok {
		holder, _ := io.ReadAll(io.LimitReader(f, 512))
		f.Close()
		who := strings.TrimSpace(string(holder))
		if who == "" {
			who = "another process"
		}
		return nil, fmt.Errorf("%w: %s (%s)", ErrTargetBusy, target, who)
	}
	// Who holds it, for the message another process prints.
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d since %s\n", os.Getpid(), j.opts.clock().UTC().Format(time.RFC3339))), 0)
	return func() {
		unlockFile(f)
		f.Close()
	}, nil
}
