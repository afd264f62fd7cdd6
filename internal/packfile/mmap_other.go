//go:build !unix

package packfile

import "os"

// mapFile reads a pack file whole where mmap is not available.
func mapFile(path string) ([]byte, func(), error) {
	data, err := os.ReadFile(path)
	return data, func() {}, err
}

// dontNeed does nothing where packs are read, not mapped.
func dontNeed([]byte) {}
