// Package cli is lkg's command line: the Kong command tree, one file and
// one struct per command, each a Run method that takes its flags, makes one
// library call and prints. The work lives in the libraries: scan (one find
// end to end), finder (the decision), gitops and artifacts (git,
// registries and the engine), deploy (moving a target and undoing it), its
// targets, drill, suspects, journal and report. Main is the whole program;
// package main only calls it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/alecthomas/kong"
	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/internal/text"
	"golang.org/x/term"
)

// CLI is the whole command line.
type CLI struct {
	Globals

	Find    FindCmd    `cmd:"" help:"Find the newest build of the known-good code, and the git refs it could be rebuilt from."`
	Deploy  DeployCmd  `cmd:"" help:"Put the known-good build back under a production tag (copy by digest, push, or rebuild)."`
	Undo    UndoCmd    `cmd:"" help:"Put a production tag back where it was before the last deploy."`
	Check   CheckCmd   `cmd:"" help:"Restore drill for CI: can the last known-good builds still be put back? Exit 6 when the newest fallback cannot."`
	Pin     PinCmd     `cmd:"" help:"Tag the best build of each of the last known-good tags lkg-keep-<tag>, so retention rules keep a way back."`
	Status  StatusCmd  `cmd:"" help:"Show what every environment in .lkg.yaml runs now, and the nearest known-good tag."`
	Demo    DemoCmd    `cmd:"" help:"Stage a throwaway incident in a temp dir and run find on it."`
	Version VersionCmd `cmd:"" help:"Print lkg's version."`
	Clean   CleanCmd   `cmd:"" help:"Remove refs/lkg/ and lkg's cache for this repository."`

	Suspects SuspectsCmd `cmd:"" help:"List what changed between the known-good and the bad deploy, by pull request, with risky files flagged."`
	Incident IncidentCmd `cmd:"" help:"Start or close an incident in the journal."`
	Note     NoteCmd     `cmd:"" help:"Add a note to the incident (starts one when none is open)."`
	Journal  JournalCmd  `cmd:"" help:"List the incident's events, oldest first."`
	Report   ReportCmd   `cmd:"" help:"Write the incident up (Markdown, HTML or JSON), its timeline drawn, with the time to restore."`
	History  HistoryCmd  `cmd:"" help:"List every deploy and undo of one image tag, newest first, with numbered revisions."`

	Completion CompletionCmd `cmd:"" help:"Print the shell completion script for bash, zsh or fish."`
}

// Globals are the flags every command takes.
type Globals struct {
	Dir                string           `short:"C" name:"dir" placeholder:"DIR" default:"." help:"The git repository: a work tree (any directory in it) or a bare repo." env:"LKG_DIR"`
	CacheDir           string           `name:"cache-dir" placeholder:"DIR" help:"Where registry metadata and commit tables are cached (default: the user cache dir's lkg/). Empty it for a cold run." env:"LKG_CACHE_DIR"`
	Debug              bool             `short:"v" name:"debug" help:"Print every registry and Docker engine request on stderr (method, URL, status, time), with credentials and tokens left out." env:"LKG_DEBUG"`
	InsecureRegistries []string         `name:"insecure-registry" placeholder:"HOST" help:"Speak to registry HOST (any port) or HOST:PORT without verifying its TLS certificate, or over plain HTTP (repeatable)." env:"LKG_INSECURE_REGISTRIES" config:"insecure_registries"`
	CAFile             string           `name:"ca-file" placeholder:"FILE" help:"Also trust the CA certificates (PEM) in FILE for registries. SSL_CERT_FILE replaces the system's CAs." env:"LKG_CA_FILE"`
	Timeout            time.Duration    `placeholder:"D" default:"30s" help:"Give up on a registry or Docker engine request (redirects included) after D (default: ${default}). Copying a layer has 10 minutes." env:"LKG_TIMEOUT"`
	ShowVersion        kong.VersionFlag `name:"version" help:"Print lkg's version and exit (like 'lkg version')."`
	KubeContext        string           `name:"kube-context" placeholder:"NAME" help:"The kubeconfig context for k8s:// targets (default: the current context of KUBECONFIG or ~/.kube/config)." env:"LKG_KUBE_CONTEXT"`
	Quiet              bool             `short:"q" help:"Print only the result and errors: no warnings, progress or hints." env:"LKG_QUIET"`

	// config is .lkg.yaml at the repository root, once loaded.
	config *config.Config
	// configErr is why .lkg.yaml could not be loaded while parsing flags.
	configErr error
	// trace is --debug's tracer, shared by every client.
	trace *artifacts.Tracer
	// copy is the registry copier, once built (copier).
	copy *artifacts.Copier
}

// cacheDir is --cache-dir, else config.DefaultCacheDir; "" (no cache)
// when neither is known.
func (g *Globals) cacheDir() string {
	if g.CacheDir != "" {
		return g.CacheDir
	}
	return config.DefaultCacheDir()
}

// Validate checks the global flags kong cannot.
func (g *Globals) Validate() error {
	if g.Timeout <= 0 {
		return fmt.Errorf("--timeout must be more than 0, not %s", g.Timeout)
	}
	return nil
}

// tracer is --debug's tracer writing to std.Err, or nil without --debug.
func (g *Globals) tracer(std *IO) *artifacts.Tracer {
	if g.Debug && g.trace == nil {
		g.trace = artifacts.NewTracer(std.Err)
	}
	return g.trace
}

// registryOptions are how find's registry clients are built, besides the
// cache: the timeout, the trace.
func (g *Globals) registryOptions(std *IO) []artifacts.Option {
	return []artifacts.Option{
		artifacts.WithTimeout(g.Timeout),
		artifacts.WithTrace(g.tracer(std)),
		artifacts.WithInsecureRegistries(g.InsecureRegistries...),
		artifacts.WithCAFile(g.CAFile),
	}
}

// copierOptions are registryOptions for copying: its requests may carry a
// layer, so they keep the copier's own longer timeout.
func (g *Globals) copierOptions(std *IO) []artifacts.Option {
	return []artifacts.Option{
		artifacts.WithTrace(g.tracer(std)),
		artifacts.WithInsecureRegistries(g.InsecureRegistries...),
		artifacts.WithCAFile(g.CAFile),
	}
}

// engineOptions are how the Docker engine client is built.
func (g *Globals) engineOptions(std *IO) []artifacts.EngineOption {
	return []artifacts.EngineOption{artifacts.WithEngineTimeout(g.Timeout), artifacts.WithEngineTrace(g.tracer(std))}
}

// openRepo opens -C's repository with lkg's commit-table cache.
func (g *Globals) openRepo(opts ...gitops.Option) (*gitops.Repo, error) {
	return gitops.Open(g.Dir, append(opts, gitops.WithCacheDir(g.cacheDir()))...)
}

// IO is where a command talks to the user.
type IO struct {
	In  io.Reader
	Out io.Writer // results: the table, or exactly one JSON object
	Err io.Writer // errors, warnings, progress

	// ErrTerminal says stderr is a terminal: progress is drawn only then.
	ErrTerminal bool
	// InTerminal says stdin is a terminal someone could confirm on.
	InTerminal bool
	// OutTerminal says stdout is a terminal: colour is drawn on it only then.
	OutTerminal bool
	// Quiet (-q) leaves only the result and errors: no warnings, progress
	// or hints.
	Quiet bool

	// outColour and errColour say whether each stream is painted; set by
	// setColour once the flags are parsed.
	outColour, errColour bool
}

const description = `lkg finds the newest build that matches a known-good git tag, wherever a
copy survives (image registries, the local Docker engine, remote branches,
teammates' refs and forks), and puts it back.

At 3 a.m., start with:

  lkg find --image registry.example.com/team/app --good-tags 'v*' --bad v3.14.0

Exit codes: 0 a build was found (or the command succeeded), 3 no build but a
git ref to rebuild from, 4 nothing found, 5 incomplete: a build that could be
the answer could not be read, 6 (check) no restorable fallback, 2 usage or
configuration error, 1 any other failure.`

// Main runs lkg with os.Args and returns the process exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	std := &IO{
		In:          os.Stdin,
		Out:         os.Stdout,
		Err:         os.Stderr,
		ErrTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		InTerminal:  term.IsTerminal(int(os.Stdin.Fd())),
		OutTerminal: term.IsTerminal(int(os.Stdout.Fd())),
	}
	return run(ctx, os.Args[1:], std)
}

// exitRequest is how kong's own exits (after --help) reach run.
type exitRequest int

func run(ctx context.Context, args []string, std *IO) (code int) {
	var cli CLI
	defer func() {
		if r := recover(); r != nil {
			req, ok := r.(exitRequest)
			if !ok {
				panic(r)
			}
			code = int(req)
		}
	}()
	parser, err := kong.New(&cli,
		kong.Name("lkg"),
		kong.Description(description),
		kong.Writers(std.Out, std.Err),
		kong.Exit(func(code int) { panic(exitRequest(code)) }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true, NoExpandSubcommands: true}),
		kong.Resolvers(configResolver(&cli.Globals)),
		kong.BindTo(ctx, (*context.Context)(nil)),
		kong.Bind(std),
		kong.Vars{"version": versionLine()},
	)
	if err != nil {
		panic(err) // the CLI struct itself is wrong: a programming error
	}
	completeIfAsked(parser)
	kctx, err := parser.Parse(args)
	// A command line that did not parse has applied no flags: -q and
	// --json are read from it directly, so that even its error obeys them.
	std.Quiet = cli.Quiet || slices.Contains(args, "-q") || slices.Contains(args, "--quiet")
	std.setColour(slices.Contains(args, "--json") || kctx != nil && jsonFlag(kctx))
	if cerr := cli.Globals.configErr; cerr != nil {
		line, code := describe(cerr, false)
		std.errorf("%s", line)
		return code
	}
	if err != nil {
		std.errorf("%s", text.OneLine(err))
		var perr *kong.ParseError
		switch {
		case std.Quiet:
		case errors.As(err, &perr) && perr.Context != nil && perr.Context.Selected() != nil:
			fmt.Fprintf(std.Err, "Run 'lkg %s --help' for usage.\n", perr.Context.Selected().Path())
		default:
			fmt.Fprintln(std.Err, "Run 'lkg --help' for usage.")
		}
		return exitUsage
	}
	if err := kctx.Run(&cli.Globals); err != nil {
		line, code := describe(err, ctx.Err() != nil)
		switch {
		case line == interruptedLine && std.Quiet:
			// -q showed no steps, so there is no "last step shown".
			std.errorf("%s.", line)
		case line == interruptedLine:
			std.errorf("%s after the last step shown.", line)
		case line != "":
			std.errorf("%s", line)
		}
		return code
	}
	return exitOK
}

// jsonFlag says whether the command line asked for --json: output for a
// program, never painted.
func jsonFlag(kctx *kong.Context) bool {
	for _, f := range kctx.Flags() {
		if f.Name == "json" {
			if on, ok := kctx.FlagValue(f).(bool); ok && on {
				return true
			}
		}
	}
	return false
}

// errorLine is an error as the user sees it: credentials masked, and what
// was typed or read from git echoed printable.
func errorLine(line string) string {
	return printable(redact.Text(line))
}
