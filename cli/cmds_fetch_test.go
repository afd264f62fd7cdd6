package cli

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Commands for the fetch reliability suites.
func init() {
	scriptCmds["slow-relay"] = cmdSlowRelay
	scriptCmds["await-file"] = cmdAwaitFile
}

const slowRelayUsage = "slow-relay NAME git://HOST:PORT"

// cmdSlowRelay starts a TCP relay on 127.0.0.1 in front of a git daemon that
// passes what the client sends at once and trickles the server's answers
// back at 16 KB/s, so a pack of a few MB takes minutes: a fetch is then
// surely in flight when the script interrupts it. It sets $NAME to the
// relay's git:// URL and stops when the script ends.
func cmdSlowRelay(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 || !strings.HasPrefix(args[1], "git://") {
		ts.Fatalf("usage: %s", slowRelayUsage)
	}
	upstream := strings.TrimPrefix(args[1], "git://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	done := make(chan struct{})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go relaySlowly(c, upstream, done)
		}
	}()
	ts.Defer(func() {
		close(done)
		ln.Close()
	})
	ts.Setenv(args[0], "git://"+ln.Addr().String())
}

func relaySlowly(c net.Conn, upstream string, done <-chan struct{}) {
	defer c.Close()
	u, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer u.Close()
	go func() { _, _ = io.Copy(u, c) }()
	buf := make([]byte, 1024)
	for {
		n, err := u.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-time.After(time.Second / 16):
		}
	}
}

const awaitFileUsage = "await-file GLOB"

// cmdAwaitFile waits (at most a minute) until a file matches GLOB (relative
// to the current directory), e.g. a fetch's .git/objects/pack/tmp_pack_*.
func cmdAwaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: %s", awaitFileUsage)
	}
	glob := ts.MkAbs(args[0])
	for deadline := time.Now().Add(time.Minute); ; {
		if m, _ := filepath.Glob(glob); len(m) > 0 {
			return
		}
		if time.Now().After(deadline) {
			ts.Fatalf("nothing matched %s within a minute", args[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
