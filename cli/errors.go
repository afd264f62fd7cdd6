package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/text"
)

// The exit codes, as the README documents them.
const (
	exitOK          = 0   // a build was found, or the command succeeded
	exitFailure     = 1   // any other failure
	exitUsage       = 2   // usage or configuration error
	exitSources     = 3   // no build, but at least one source to rebuild from
	exitNotFound    = 4   // nothing found
	exitIncomplete  = 5   // find: a build that could be the answer could not be read
	exitNoFallback  = 6   // lkg check: no restorable fallback
	exitInterrupted = 130 // Ctrl-C or SIGTERM
)

// failure says, for an error a package returns, the exit code and what to
// do next. The package's message says what failed; the hint says what to
// do. An error that carries a code or a hint of its own (errs.Error, a
// kong.ExitCoder) keeps it: the table only fills in what it lacks.
type failure struct {
	err  error
	code int
	hint string
}

var failures = []failure{
	{errs.ErrUsage, exitUsage, ""},
	{gitops.ErrNotRepository, exitUsage, "Run lkg inside the service's git repository, or pass -C DIR."},
	{gitops.ErrUnsupportedExtension, exitUsage, ""}, // its message says what to do
	{gitops.ErrUnknownRef, exitUsage, "Check the name with 'git rev-parse', or fetch it first."},
	{gitops.ErrAmbiguousRef, exitUsage, "Give more of the hash, or the full ref name."},
	{gitops.ErrShallowOffline, exitFailure, "Fetch the tags first (git fetch --depth=1 origin 'refs/tags/*:refs/tags/*'), or run on a full clone"},
	// lkg deploy takes no digest: it finds the build of a git revision and
	// copies that by digest, so the revision is what to give.
	{gitops.ErrImageDigest, exitUsage, "Give the git tag or commit the image was built from (its org.opencontainers.image.revision label); lkg finds and copies its build by digest. Or put that very build back with lkg deploy --to HOST/REPO:TAG --digest sha256:<hex>."},
	{gitops.ErrBadGlob, exitUsage, "Fix the glob: * ? and [...] as in 'git tag -l'."},
	{finder.ErrBadTagPattern, exitUsage, "A tag pattern is a Go regular expression with a (?P<rev>...) group."},
	{errs.ErrNothingGood, exitNotFound, ""},
	{deploy.ErrPinElsewhere, exitFailure, ""},
	{artifacts.ErrUnauthorized, exitFailure, ""}, // its message names the docker login to run
	{artifacts.ErrRepoNotFound, exitFailure, "Check the --image repository name."},
	{artifacts.ErrUnreachable, exitFailure, "Check the registry address and the network, then retry."},
}

// interruptedLine is what an interrupt that nothing explained says.
const interruptedLine = "interrupted; nothing was changed"

// describe is the one place an error becomes what the user sees: the line
// (without "lkg: "; "" to print nothing) and the exit code. The error's
// own code wins; then the table's; else 1. interrupted says Ctrl-C or
// SIGTERM cancelled the run.
func describe(err error, interrupted bool) (line string, code int) {
	if st, ok := errors.AsType[status](err); ok {
		return "", int(st) // a result that carries meaning, already printed
	}
	own := errs.Code(err)
	if interrupted && errors.Is(err, context.Canceled) && own == 0 {
		return interruptedLine, exitInterrupted
	}
	line, code = text.OneLine(err), own
	hinted := len(errs.Hints(err)) > 0
	if certErr, ok := errors.AsType[*artifacts.CertificateError](err); ok && !hinted {
		line += fmt.Sprintf(". Trust the registry's CA with --ca-file FILE (or SSL_CERT_FILE), or skip verification with --insecure-registry %s", certErr.Host)
	}
	for _, f := range failures {
		if errors.Is(err, f.err) {
			if code == 0 {
				code = f.code
			}
			if f.hint != "" && !hinted {
				line += ". " + f.hint
			}
			break
		}
	}
	if code == 0 {
		code = exitFailure
	}
	return line, code
}

// status ends a successful command with a non-zero exit code that carries
// meaning (3: sources only, 4: nothing found); it prints nothing.
type status int

func (s status) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// ExitCode implements kong.ExitCoder.
func (s status) ExitCode() int { return int(s) }

// usagef is bad input: one line, exit 2.
func usagef(format string, args ...any) error { return errs.Usagef(format, args...) }
