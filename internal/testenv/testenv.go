// Package testenv is what lkg's tests ask of the machine: a tool they need
// that is missing skips the test, except in CI (LKG_REQUIRE_INTEGRATION=1),
// where a missing tool is a failure, never a silent skip. Tests only.
package testenv

import (
	"flag"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
)

// RequireIntegration says CI asked for every service and tool to be there.
func RequireIntegration() bool { return os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" }

// NeedGit skips tb when git is not on PATH, or fails it in CI.
func NeedGit(tb testing.TB) {
	tb.Helper()
	Need(tb, "git")
}

// Need skips tb when tool is not on PATH, or fails it in CI.
func Need(tb testing.TB, tool string) {
	tb.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		if RequireIntegration() {
			tb.Fatalf("LKG_REQUIRE_INTEGRATION=1 but %s is not on PATH", tool)
		}
		tb.Skipf("%s not on PATH", tool)
	}
}

// WaitingTests lets a package whose tests mostly wait (on an engine, a
// control plane, git, a registry) run more of them at once than go
// test's default of one per core: four per core. Call it from TestMain
// before m.Run; an explicit -parallel still wins, the flags being parsed
// after.
func WaitingTests() {
	_ = flag.Set("test.parallel", strconv.Itoa(4*runtime.GOMAXPROCS(0)))
}
