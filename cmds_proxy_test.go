package main

import (
	"flag"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lkg-dev/lkg/internal/fixture"
)

// The fault-injecting proxy for the reliability suites.
func init() {
	scriptCmds["fault-proxy"] = cmdFaultProxy
}

const faultProxyUsage = "fault-proxy [-rule method=M,path=GLOB,times=N,delay=D,status=N,retry-after=V,redirect=loop|N|URL,replace=OLD>NEW,reset=N]... NAME HOST:PORT"

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
	ts.Defer(func() { p.Close() })
	ts.Setenv(rest[0], p.Addr)
	ts.Logf("fault proxy on %s in front of %s", p.Addr, rest[1])
}
