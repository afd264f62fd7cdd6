//go:build !unix

package gitops

import "os"

// suspectsMap reads a pack file whole where mmap is not available.
func suspectsMap(path string) ([]byte, func(), error) {
	data, err := os.ReadFile(path)
	return data, func() {}, err
}
