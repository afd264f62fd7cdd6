//go:build unix

package packfile

import (
	"os"
	"syscall"
)

// mapFile maps a pack file read-only: packs can be gigabytes, and the
// diff workers share one mapping.
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, func() {}, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() { _ = syscall.Munmap(data) }, nil
}

// dontNeed tells the kernel the process is done with this part of a
// mapping for now: the pages leave its resident set (they stay in the page
// cache, and come back on the next touch).
func dontNeed(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_DONTNEED)
	}
}
