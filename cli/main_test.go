package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/internal/kubetest"
	"github.com/lkg-dev/lkg/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// scriptCmds are the testscript suites' custom commands. Each file that
// adds some (cmds_<topic>_test.go) registers them in an init func; each
// command starts with a usage check.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){}

// requireIntegration is set by .ci/run: in CI a missing registry or engine
// is a failure, never a skip.
var requireIntegration = os.Getenv("LKG_REQUIRE_INTEGRATION") == "1"

// updateGolden makes a failing `cmp stdout FILE` rewrite FILE inside its
// archive from the actual output instead of failing: regenerate the golden
// files with `go test -run TestScripts -update`, or LKG_UPDATE_GOLDEN=1
// (which also works with ./...), then review the diff.
var updateGolden = flag.Bool("update", os.Getenv("LKG_UPDATE_GOLDEN") == "1", "rewrite golden files in testdata/scripts from the actual output")

// The test binary, run as lkg by the scripts, takes two hooks the shipped
// binary does not have: LKG_FAKE_NOW=2026-11-20T14:00:00Z stamps the journal
// with a stepped clock from that time (golden reports), and
// LKG_TEST_INTERRUPT_AT=STEP ("planned", "journaled", "moved") makes a move
// send lkg SIGINT at that step, as if the user pressed Ctrl-C right then.
const (
	fakeNowEnv     = "LKG_FAKE_NOW"
	interruptAtEnv = "LKG_TEST_INTERRUPT_AT"
)

func init() {
	if v := os.Getenv(fakeNowEnv); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			panic(fmt.Sprintf("%s=%q: %v", fakeNowEnv, v, err))
		}
		fakeNow = t
	}
	if step := os.Getenv(interruptAtEnv); step != "" {
		stepHook = interruptAt(step)
	}
}

// interruptAt is a step hook that interrupts the process at step and waits
// (briefly) for the signal to cancel the context.
func interruptAt(step string) func(ctx context.Context, at string) {
	return func(ctx context.Context, at string) {
		if at != step {
			return
		}
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Signal(os.Interrupt)
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
		}
	}
}

func TestMain(m *testing.M) {
	commands := map[string]func(){
		"lkg":    func() { os.Exit(profiled(Main)) },
		"ptyrun": func() { os.Exit(ptyrunMain()) },
	}
	if _, isCommand := commands[filepath.Base(os.Args[0])]; !isCommand {
		// The scripts mostly wait on lkg, git, the registries, the engine.
		testenv.WaitingTests()
	}
	testscript.Main(kubetest.Wrap(m), commands)
}

// passEnv are variables a script inherits from the test's environment:
// where the engine and the tools are, and whether services are required.
var passEnv = []string{"DOCKER_HOST", "LKG_REQUIRE_INTEGRATION", "LKG_DOCKER_REGISTRY"}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/scripts",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateGolden,
		Cmds:                scriptCmds,
		Condition:           scriptCondition,
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, ".home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			env.Setenv("HOME", home)
			env.Setenv("LKG_CACHE_DIR", filepath.Join(env.WorkDir, ".cache"))
			// Every move keeps its second read, short; the race suites
			// that need a longer one say --settle.
			env.Setenv("LKG_SETTLE", "20ms")
			// Git as a fresh user has it, with fixed names and no system config.
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, ".gitconfig"))
			env.Setenv("GIT_AUTHOR_NAME", "Ada Oncall")
			env.Setenv("GIT_AUTHOR_EMAIL", "ada@example.com")
			env.Setenv("GIT_COMMITTER_NAME", "Ada Oncall")
			env.Setenv("GIT_COMMITTER_EMAIL", "ada@example.com")
			for _, k := range passEnv {
				if v, ok := os.LookupEnv(k); ok {
					env.Setenv(k, v)
				}
			}
			return nil
		},
	})
}

// scriptCondition answers [git], [docker-engine] and [docker-compose] conditions. A missing
// engine makes the suite skip, unless integration is required, when it
// fails the script instead. There is no registry condition: the registry
// command falls back to the in-process registry when Debian's
// docker-registry is absent (and fails when integration is required), so
// the deploy and undo suites never skip for want of one.
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "git":
		_, err := exec.LookPath("git")
		if err != nil && requireIntegration {
			return false, constError("LKG_REQUIRE_INTEGRATION=1 but git is not on PATH")
		}
		return err == nil, nil
	case "docker-compose":
		_, err := exec.LookPath("docker-compose")
		if err != nil && requireIntegration {
			return false, constError("LKG_REQUIRE_INTEGRATION=1 but docker-compose is not on PATH")
		}
		return err == nil, nil
	case "docker-engine":
		ok := os.Getenv("DOCKER_HOST") != "" || fileExists("/var/run/docker.sock")
		if !ok && requireIntegration {
			return false, errNoEngine
		}
		return ok, nil
	case "kube":
		return kubeCondition()
	}
	return false, fmt.Errorf("unknown condition %q", cond)
}

type constError string

func (e constError) Error() string { return string(e) }

const errNoEngine = constError("LKG_REQUIRE_INTEGRATION=1 but no Docker engine: set DOCKER_HOST (.ci/dockerd.sh start)")

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
