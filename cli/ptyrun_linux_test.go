//go:build linux

package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ptyrunMain is the ptyrun command of the testscript suites:
//
//	ptyrun COMMAND [ARGS...]
//
// runs COMMAND with its stdout and stderr on a new pseudo-terminal (stdin
// stays as it is), copies what the terminal showed to ptyrun's stdout with
// the terminal's \r\n turned back into \n, and exits with COMMAND's exit
// code: how a suite sees what lkg draws on a terminal (colour, progress).
func ptyrunMain() int {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: ptyrun COMMAND [ARGS...]")
		return 2
	}
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ptyrun:", err)
		return 2
	}
	defer ptmx.Close()
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		fmt.Fprintln(os.Stderr, "ptyrun: unlocking the terminal:", err)
		return 2
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ptyrun: naming the terminal:", err)
		return 2
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ptyrun:", err)
		return 2
	}
	cmd := exec.Command(os.Args[1], os.Args[2:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = tty
	cmd.Stderr = tty
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "ptyrun:", err)
		return 2
	}
	tty.Close() // the child holds it now; reading ends (EIO) when it exits
	var out strings.Builder
	_, _ = io.Copy(&out, ptmx)
	code := 0
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, "ptyrun:", err)
			return 2
		}
		code = exit.ExitCode()
	}
	fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n"))
	return code
}
