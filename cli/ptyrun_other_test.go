//go:build !linux

package cli

import (
	"fmt"
	"os"
)

// ptyrunMain needs Linux's /dev/ptmx; suites using ptyrun skip elsewhere.
func ptyrunMain() int {
	fmt.Fprintln(os.Stderr, "ptyrun: pseudo-terminals are only set up on Linux")
	return 2
}
