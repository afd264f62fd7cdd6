package main

import (
	"errors"
	"fmt"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/scan"
)

// failure says, for an error a package returns, the exit code and what to
// do next. The package's message says what failed; the hint says what to do.
type failure struct {
	err  error
	code int
	hint string
}

var failures = []failure{
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
	{scan.ErrNothingGood, exitNotFound, ""},
	{deploy.ErrNothingGood, exitNotFound, ""},
	{deploy.ErrPinElsewhere, exitFailure, ""},
	{artifacts.ErrUnauthorized, exitFailure, ""}, // its message names the docker login to run
	{artifacts.ErrRepoNotFound, exitFailure, "Check the --image repository name."},
	{artifacts.ErrUnreachable, exitFailure, "Check the registry address and the network, then retry."},
}

// describe turns an error into the one line the user sees and the exit code.
func describe(err error) (line string, code int) {
	line, code = text.OneLine(err), exitCode(err, exitFailure)
	if certErr, ok := errors.AsType[*artifacts.CertificateError](err); ok {
		return line + fmt.Sprintf(". Trust the registry's CA with --ca-file FILE (or SSL_CERT_FILE), or skip verification with --insecure-registry %s", certErr.Host), code
	}
	for _, f := range failures {
		if errors.Is(err, f.err) {
			code = f.code
			if f.hint != "" {
				line += ". " + f.hint
			}
			break
		}
	}
	return line, code
}
