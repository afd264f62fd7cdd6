package cli

import (
	"flag"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lkg-dev/lkg/internal/fixture"
)

// The fault-injecting proxy for the reliability suites.
func init() {
	scriptCmds["fault-proxy"] = cmdFaultProxy
	scriptCmds["await-request"] = cmdAwaitRequest
	scriptCmds["proxy-count"] = cmdProxyCount
}

const faultProxyUsage = "fault-proxy [-rule method=M,path=GLOB,times=N,delay=D,status=N,retry-after=V,redirect=loop|N|URL,replace=OLD>NEW,reset=N,apply=1,move=DIGEST]... NAME HOST:PORT"

// proxies maps a fault proxy's address to the proxy, for await-request.
var proxies sync.Map

const awaitRequestUsage = "await-request NAME METHOD PATHGLOB"

// cmdAwaitRequest waits (at most a minute) until the fault proxy $NAME has
// received a METHOD request whose path matches PATHGLOB: the command under
// test, running in the background, is then in the middle of it.
func cmdAwaitRequest(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: %s", awaitRequestUsage)
	}
	v, ok := proxies.Load(ts.Getenv(args[0]))
	if !ok {
		ts.Fatalf("no fault-proxy %s", args[0])
	}
	p := v.(*fixture.Proxy)
	for deadline := time.Now().Add(time.Minute); !p.Seen(args[1], args[2]); {
		if time.Now().After(deadline) {
			ts.Fatalf("no %s %s reached %s within a minute", args[1], args[2], args[0])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const proxyCountUsage = "proxy-count NAME METHOD PATHGLOB N"

// cmdProxyCount checks that the fault proxy $NAME has received exactly N
// METHOD requests whose path matches PATHGLOB: how many times a write was
// sent, once the command under test has ended.
func cmdProxyCount(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 4 {
		ts.Fatalf("usage: %s", proxyCountUsage)
	}
	want, err := strconv.Atoi(args[3])
	if err != nil {
		ts.Fatalf("%q is not a count\nusage: %s", args[3], proxyCountUsage)
	}
	v, ok := proxies.Load(ts.Getenv(args[0]))
	if !ok {
		ts.Fatalf("no fault-proxy %s", args[0])
	}
	p := v.(*fixture.Proxy)
	if got := p.Count(args[1], args[2]); got != want {
		ts.Fatalf("%s received %d %s %s, want %d:\n%s", args[0], got, args[1], args[2], want, strings.Join(p.Requests(), "\n"))
	}
}

// cmdFaultProxy starts a proxy on 127.0.0.1 in front of the registry at
// HOST:PORT that applies each -rule (in order; the first that matches
// acts) and sets $NAME to its "127.0.0.1:PORT". It stops when the script
// ends.
func cmdFaultProxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! fault-proxy")
	}
	fs := flag.NewFlagSet("fault-proxy", flag.ContinueOnError)
	var specs listFlag
	fs.Var(&specs, "rule", "")
	rest := scriptFlags(ts, faultProxyUsage, fs, args)
	if len(rest) != 2 {
		ts.Fatalf("usage: %s", faultProxyUsage)
	}
	var rules []fixture.Rule
	for _, spec := range specs {
		r, err := fixture.ParseRule(spec)
		if err != nil {
			ts.Fatalf("%v\nusage: %s", err, faultProxyUsage)
		}
		rules = append(rules, r)
	}
	p, err := fixture.StartProxy(rest[1], rules...)
	ts.Check(err)
	proxies.Store(p.Addr, p)
	ts.Defer(func() { p.Close(); proxies.Delete(p.Addr) })
	ts.Setenv(rest[0], p.Addr)
	ts.Logf("fault proxy on %s in front of %s", p.Addr, rest[1])
}
