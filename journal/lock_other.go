//go:build !unix

package journal

import "os"

// Without flock the single O_APPEND write is the only guard: lines from
// concurrent appenders may still not interleave, but incident state read
// before the write may be stale.
func lockFile(*os.File, bool) error { return nil }

func tryLockFile(*os.File) (bool, error) { return true, nil }

func unlockFile(*os.File) {}

func isReadOnly(error) bool { return false }
