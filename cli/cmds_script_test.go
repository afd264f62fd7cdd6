package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["gitrev"] = cmdGitrev
	scriptCmds["json"] = cmdJSON
	scriptCmds["exits"] = cmdExits
	scriptCmds["silent-server"] = cmdSilentServer
	scriptCmds["await-connection"] = cmdAwaitConnection
}

// silentServers maps a silent server's $NAME (per script) to a channel
// closed at its first connection.
var silentServers sync.Map

// cmdAwaitConnection waits until something has connected to the silent
// server $NAME: the command under test is then surely blocked on it.
//
//	await-connection NAME
func cmdAwaitConnection(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: await-connection NAME")
	}
	v, ok := silentServers.Load(ts.Getenv(args[0]))
	if !ok {
		ts.Fatalf("no silent-server %s", args[0])
	}
	select {
	case <-v.(chan struct{}):
	case <-time.After(time.Minute):
		ts.Fatalf("nothing connected to %s within a minute", args[0])
	}
}

// cmdSilentServer starts a TCP server on 127.0.0.1 that accepts connections
// and never answers, like a registry behind a hung load balancer, and sets
// $NAME to its address. The script's end stops it.
//
//	silent-server NAME
func cmdSilentServer(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 || neg {
		ts.Fatalf("usage: silent-server NAME")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ts.Fatalf("listening: %v", err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	first := make(chan struct{})
	silentServers.Store(l.Addr().String(), first)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if len(conns) == 0 {
				close(first)
			}
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	ts.Defer(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	ts.Setenv(args[0], l.Addr().String())
}

// cmdExits runs a command that must end with exactly the given exit code,
// and keeps its stdout and stderr for the checks that follow. lkg's exit
// codes are a contract (0, 1, 2, 3, 4), so `exec` and `! exec` are not
// precise enough.
//
//	exits CODE COMMAND [ARGS...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || neg {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]: %q is not an exit code", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			ts.Fatalf("running %s: %v", args[1], err)
		}
		got = exit.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited %d, want %d", args[1], got, want)
	}
}

// cmdGitrev sets $NAME to the full hash of a git revision, and $NAME7 to its
// first seven digits, as image tags carry it.
//
//	gitrev NAME REV
func cmdGitrev(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 || neg {
		ts.Fatalf("usage: gitrev NAME REV")
	}
	if err := ts.Exec("git", "rev-parse", "--verify", args[1]+"^{commit}"); err != nil {
		ts.Fatalf("git rev-parse %s: %v", args[1], err)
	}
	hash := strings.TrimSpace(ts.ReadFile("stdout"))
	ts.Setenv(args[0], hash)
	ts.Setenv(args[0]+"7", hash[:7])
}

// cmdJSON checks one value in a JSON file: a dotted path with numeric
// indices for arrays (builds.0.match), compared with its JSON text (strings
// without quotes). `len` after the path compares an array's length;
// `! json` asserts the value differs.
//
//	json FILE PATH [len] WANT
func cmdJSON(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 && !(len(args) == 4 && args[2] == "len") {
		ts.Fatalf("usage: json FILE PATH [len] WANT")
	}
	var doc any
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc); err != nil {
		ts.Fatalf("%s is not one JSON document: %v", args[0], err)
	}
	v, err := jsonPath(doc, args[1])
	if err != nil {
		ts.Fatalf("%s: %v", args[0], err)
	}
	want := args[len(args)-1]
	var got string
	if len(args) == 4 {
		arr, ok := v.([]any)
		if !ok {
			ts.Fatalf("%s: %s is not an array", args[0], args[1])
		}
		got = strconv.Itoa(len(arr))
	} else if s, ok := v.(string); ok {
		got = s
	} else {
		b, _ := json.Marshal(v)
		got = string(b)
	}
	if (got == want) == neg {
		if neg {
			ts.Fatalf("%s: %s is %q, want anything else", args[0], args[1], got)
		}
		ts.Fatalf("%s: %s is %q, want %q", args[0], args[1], got, want)
	}
}

func jsonPath(v any, path string) (any, error) {
	if path == "." {
		return v, nil
	}
	for _, key := range strings.Split(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			next, ok := node[key]
			if !ok {
				return nil, fmt.Errorf("no key %q in path %s", key, path)
			}
			v = next
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil, fmt.Errorf("no index %q (of %d) in path %s", key, len(node), path)
			}
			v = node[i]
		default:
			return nil, fmt.Errorf("path %s goes through a %T at %q", path, v, key)
		}
	}
	return v, nil
}
