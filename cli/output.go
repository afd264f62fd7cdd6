package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/termsafe"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/types"
)

// writeJSON prints v as exactly one JSON object.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// maxWarnings bounds the warnings one command shows, in the table and in
// --json alike; find's own are already summarised by kind.
const maxWarnings = 50

// maxAlternatives is how many builds and sources the table shows; --json
// has them all.
const maxAlternatives = 10

// printFind writes the human answer: the best build first, then the
// alternatives, the sources, the warnings, and the command to run next.
// With -q only the answer: no warnings and no hints (By hand, Next).
func printFind(std *IO, res finder.Result, f FindFlags, g *Globals) {
	res = printableResult(res)
	w := std.Out
	now := time.Now()
	if b := res.Bad; b != nil {
		from := "named with --bad"
		if target, ok := strings.CutPrefix(b.From, "production tag "); ok {
			from = "what " + target + " runs now"
		}
		fmt.Fprintf(w, "Bad deploy: %s (commit %s, %s)\n", b.Ref, text.ShortHash(b.Commit), from)
	}
	for i, good := range res.Good {
		label := "Known good:"
		if i > 0 {
			label = "Fallback:  "
		}
		fmt.Fprintf(w, "%s %s (commit %s, %s)\n", label, good.Tag, text.ShortHash(good.Commit), when(good.Time, now))
	}
	fmt.Fprintln(w)

	for _, u := range res.Unread {
		fmt.Fprintf(w, "Incomplete: %s could not be read and could be the answer; below is the best of what was read.\n", u.Image)
	}
	if res.Incomplete {
		fmt.Fprintln(w)
	}
	switch {
	case res.Best != nil:
		b := res.Best
		fmt.Fprintf(w, "Best build: %s\n", b.Image)
		fmt.Fprintf(w, "  digest    %s\n", b.Digest)
		fmt.Fprintf(w, "  match     %s (%s)\n", std.paint(matchColour(string(b.Match)), string(b.Match)), matchMeaning(b.Match, b.GoodTag))
		fmt.Fprintf(w, "  revision  %s%s\n", b.Revision, revisionFrom(*b))
		if b.Trust != nil {
			fmt.Fprintf(w, "  trust     %s\n", trustLine(*b.Trust))
		}
		if b.Conflict != "" {
			fmt.Fprintf(w, "  conflict  %s\n", std.paint(yellow, b.Conflict))
		}
		fmt.Fprintf(w, "  created   %s\n", when(b.Created, now))
		if len(b.Platforms) > 0 {
			fmt.Fprintf(w, "  platforms %s\n", strings.Join(b.Platforms, ", "))
		}
		fmt.Fprintf(w, "  found in  %s\n", whereBuild(*b))
	case len(f.Images) == 0 && !f.Docker:
		fmt.Fprintln(w, "No image source given (--image REPO or --docker): showing git sources only.")
	default:
		fmt.Fprintln(w, "No build of the known-good code was found.")
	}

	if len(res.Builds) > 1 {
		trusted := slices.ContainsFunc(res.Builds, func(b finder.Build) bool { return b.Trust != nil })
		header := "SOURCE\t" + std.paint(bold, "MATCH") + "\tGOOD\tCREATED\tIMAGE\tDIGEST"
		if trusted {
			header = "SOURCE\t" + std.paint(bold, "MATCH") + "\tTRUST\tGOOD\tCREATED\tIMAGE\tDIGEST"
		}
		writeTable(w, "Builds, best first:", header, len(res.Builds), func(i int) string {
			b := res.Builds[i]
			match := std.paint(matchColour(string(b.Match)), string(b.Match))
			if b.Conflict != "" {
				match = std.paint(yellow, "conflict")
			}
			if trusted {
				match += "\t" + trustColumn(b.Trust)
			}
			return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", sourceColumn(b), match, b.GoodTag, age(b.Created, now), b.Image, digest.Short(b.Digest))
		})
	}

	if len(res.Sources) > 0 {
		writeTable(w, "Git refs to rebuild from, best first:", std.paint(bold, "MATCH")+"\tAHEAD\tREF\tWHERE\tCOMMIT", len(res.Sources), func(i int) string {
			s := res.Sources[i]
			return fmt.Sprintf("%s\t%d\t%s\t%s\t%s", std.paint(matchColour(string(s.Match)), string(s.Match)), s.Ahead, s.Ref, whereSource(s), text.ShortHash(s.Commit))
		})
		if !std.Quiet {
			fmt.Fprintf(w, "  By hand: %s\n", rebuildHint(res.Sources[0]))
		}
	}
	if std.Quiet {
		return
	}

	if len(res.Warnings) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, std.paint(yellow, "Warnings:"))
		for _, warning := range res.Warnings {
			fmt.Fprintf(w, "  - %s\n", std.paint(yellow, warning))
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintf(w, "Next: %s\n", nextCommand(res, f, g))
}

// writeTable writes a numbered table of at most maxAlternatives rows, after
// a blank line and its title; --json has every row.
func writeTable(w io.Writer, title, header string, n int, row func(i int) string) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  #\t%s\n", header)
	for i := range n {
		if i == maxAlternatives {
			fmt.Fprintf(tw, "  …\t%d more (--json lists all)\n", n-i)
			break
		}
		fmt.Fprintf(tw, "  %d\t%s\n", i+1, row(i))
	}
	tw.Flush()
}

// nextCommand is the one command an on-call engineer should run next.
func nextCommand(res finder.Result, f FindFlags, g *Globals) string {
	to := "REGISTRY/REPO:PROD_TAG"
	if f.To != "" {
		to = f.To
	} else if cfg, _ := g.Config(); cfg != nil && cfg.To != "" {
		to = cfg.To
	}
	switch {
	case res.Assumed && len(res.Good) > 0 && (res.Best != nil || len(res.Sources) > 0):
		// The newest tag was only assumed good: deploying it could put the
		// broken build back.
		if f.To == "" {
			return fmt.Sprintf("name the bad deploy first: lkg find --to %s%s   (or --bad REF); %s may be what broke production", to, imageFlags(f), res.Good[0].Tag)
		}
		return fmt.Sprintf("name the bad deploy first: lkg find --bad REF --to %s%s; %s may be what broke production", to, imageFlags(f), res.Good[0].Tag)
	case res.Best != nil:
		return fmt.Sprintf("lkg deploy --to %s --good %s%s --dry-run   (then again without --dry-run)", to, res.Best.GoodTag, imageFlags(f))
	case len(res.Sources) > 0:
		s := res.Sources[0]
		return fmt.Sprintf("lkg deploy --rebuild --to %s --good %s --dry-run   (rebuilds the known-good code; %s holds it)", to, s.GoodTag, s.Ref)
	default:
		return "widen the search: more --image repositories, --docker, a larger --depth, or an older --good REF"
	}
}

func imageFlags(f FindFlags) string {
	var b strings.Builder
	for _, image := range f.Images {
		fmt.Fprintf(&b, " --image %s", image)
	}
	if f.Docker {
		b.WriteString(" --docker")
	}
	return b.String()
}

// revisionFrom says where a build's revision was read, for the best
// build's revision line.
func revisionFrom(b finder.Build) string {
	switch b.RevisionFrom {
	case "":
		return ""
	case types.FromProvenanceHint:
		return " (from provenance: the build context's .git, unchecked)"
	case types.FromTagName:
		return " (from the tag name)"
	}
	return " (from " + strings.ReplaceAll(string(b.RevisionFrom), "-", " ") + ")"
}

// trustColumn is a build's trust state, one word, for the table.
func trustColumn(t *types.Trust) string {
	if t == nil {
		return "-"
	}
	return string(t.State)
}

// trustLine is a build's trust verdict in a few words: by what it
// verified, or why not.
func trustLine(t types.Trust) string {
	switch {
	case t.State == types.TrustVerified:
		return "verified by " + t.By
	case t.Reason != "":
		return string(t.State) + ": " + t.Reason
	}
	return string(t.State)
}

func matchMeaning(m finder.Match, goodTag string) string {
	switch m {
	case finder.MatchExact:
		return "built from the commit of " + goodTag
	case finder.MatchTree:
		return "built from a commit with the same source tree as " + goodTag
	case finder.MatchTag:
		return "no revision recorded; only its tag name equals " + goodTag
	}
	return string(m)
}

// whereBuild names every place a build was found.
func whereBuild(b finder.Build) string {
	var regs []string
	var local []string
	for _, l := range b.Locations {
		if l.Source == types.SourceDocker {
			local = append(local, l.Image)
		} else if repo := repoOfImage(l.Image); !slices.Contains(regs, repo) {
			regs = append(regs, repo)
		}
	}
	if len(b.Locations) == 0 { // not merged: the build itself
		if b.Source == types.SourceDocker {
			return "the local Docker engine"
		}
		return "registry " + b.Repo
	}
	var parts []string
	for _, r := range regs {
		parts = append(parts, "registry "+r)
	}
	if len(local) > 0 {
		engine := "the local Docker engine"
		if len(regs) > 0 {
			engine += " (" + strings.Join(local, ", ") + ")"
		}
		parts = append(parts, engine)
	}
	return strings.Join(parts, " and ")
}

// repoOfImage is "host/repo" of "host/repo:tag" or "host/repo@digest".
func repoOfImage(image string) string {
	image, _, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[:i]
	}
	return image
}

// sourceColumn is where a build was found, for the table: registry,
// docker, or both.
func sourceColumn(b finder.Build) string {
	reg, local := b.Source == types.SourceRegistry, b.Source == types.SourceDocker
	for _, l := range b.Locations {
		reg = reg || l.Source == types.SourceRegistry
		local = local || l.Source == types.SourceDocker
	}
	if reg && local {
		return "both"
	}
	return string(b.Source)
}

// whereSource names where a ref lives: the local repo, a remote, or a
// teammate's namespace on a remote (refs/heads/<name>/...).
func whereSource(s finder.Source) string {
	if s.Remote == "" {
		return "local"
	}
	rest, ok := strings.CutPrefix(s.Ref, "refs/heads/")
	if !ok {
		rest, ok = strings.CutPrefix(s.Ref, "refs/remotes/"+s.Remote+"/")
	}
	if ok {
		if owner, _, nested := strings.Cut(rest, "/"); nested && !sharedPrefixes[owner] && owner != s.Remote {
			return fmt.Sprintf("%s (%s's branch)", s.Remote, owner)
		}
	}
	return s.Remote
}

// sharedPrefixes are first path components of branch names that teams
// share (release/1.4), as opposed to a person's namespace (alice/fix).
var sharedPrefixes = map[string]bool{
	"release": true, "releases": true, "hotfix": true, "hotfixes": true,
	"feature": true, "features": true, "feat": true, "fix": true, "bugfix": true,
	"bug": true, "chore": true, "support": true, "deploy": true, "prod": true,
	"production": true, "staging": true, "dev": true, "develop": true,
	"dependabot": true, "renovate": true, "revert": true, "pr": true, "ci": true,
}

// rebuildHint says how to get a source's code by hand: its commit is in the
// repository (find fetched it under refs/lkg/), so a worktree needs no
// network and leaves the user's own checkout alone.
func rebuildHint(s finder.Source) string {
	return fmt.Sprintf("git worktree add --detach ../lkg-restore %s   (the code of %s, beside your checkout)", text.ShortHash(s.Commit), s.Ref)
}

// when is a time in UTC with its age.
func when(t, now time.Time) string {
	if t.IsZero() {
		return "time unknown"
	}
	return fmt.Sprintf("%s, %s", t.UTC().Format("2006-01-02 15:04 MST"), age(t, now))
}

// progress draws "label: done/total" on a terminal, at most ten times a second.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	label string
	last  time.Time
	drawn bool
}

func newProgress(w io.Writer, label string) *progress {
	return &progress{w: w, label: label}
}

// Update is safe to call from many goroutines.
func (p *progress) Update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	} else {
		p.last = now
	}
	fmt.Fprintf(p.w, "\r\033[K%s: %d/%d", p.label, done, total)
	p.drawn = true
}

// Done clears the progress line.
func (p *progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// printable is s with what a terminal would act on written as escapes
// (termsafe.String): for text from git or a registry in human output.
func printable(s string) string { return termsafe.String(s) }

// printableResult is a copy of res with every text from git or a registry
// made printable, for the table.
func printableResult(res finder.Result) finder.Result {
	out := res
	out.Good = slices.Clone(res.Good)
	for i := range out.Good {
		out.Good[i].Tag = printable(out.Good[i].Tag)
	}
	out.Builds = slices.Clone(res.Builds)
	for i := range out.Builds {
		b := &out.Builds[i]
		b.Image, b.Repo, b.GoodTag = printable(b.Image), printable(b.Repo), printable(b.GoodTag)
		b.Tags = printableAll(b.Tags)
		b.Platforms = printableAll(b.Platforms)
		b.Conflict = printable(b.Conflict)
		if b.Trust != nil {
			t := *b.Trust
			t.By, t.Reason = printable(t.By), printable(t.Reason)
			b.Trust = &t
		}
	}
	if res.Best != nil && len(out.Builds) > 0 {
		out.Best = &out.Builds[0]
	}
	out.Sources = slices.Clone(res.Sources)
	for i := range out.Sources {
		s := &out.Sources[i]
		s.Ref, s.Remote, s.GoodTag = printable(s.Ref), printable(s.Remote), printable(s.GoodTag)
	}
	if res.Bad != nil {
		bad := *res.Bad
		bad.Ref = printable(bad.Ref)
		out.Bad = &bad
	}
	out.Warnings = printableAll(res.Warnings)
	return out
}

func printableAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = printable(s)
	}
	return out
}

// colour is an SGR colour code of exactly two digits: every painted cell of
// a column then carries the same number of invisible bytes, so tabwriter,
// which counts bytes, still lines the columns up.
type colour string

const (
	green  colour = "32"
	yellow colour = "33"
	red    colour = "31"
	cyan   colour = "36"
	bold   colour = "01"
)

// useColour says whether colour may be drawn at all: not with NO_COLOR set
// (https://no-color.org: any non-empty value), not on a dumb terminal, not
// with --json. Each stream is then painted only when it is a terminal.
func useColour(json bool) bool {
	return os.Getenv("NO_COLOR") == "" && os.Getenv("TERM") != "dumb" && !json
}

// setColour decides colour for both streams, once the flags are known.
func (std *IO) setColour(json bool) {
	ok := useColour(json)
	std.outColour = ok && std.OutTerminal
	std.errColour = ok && std.ErrTerminal
}

func paint(on bool, c colour, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + string(c) + "m" + s + "\x1b[0m"
}

// paint colours s on stdout when colour is on.
func (std *IO) paint(c colour, s string) string { return paint(std.outColour, c, s) }

// matchColour is how sure a MATCH is: exact green, tree (and a branch
// containing the commit) cyan, a tag name alone yellow.
func matchColour(m string) colour {
	switch m {
	case string(finder.MatchExact):
		return green
	case string(finder.MatchTag):
		return yellow
	}
	return cyan
}

// errorf prints one error line on stderr, "lkg:" in red on a terminal.
func (std *IO) errorf(format string, args ...any) {
	fmt.Fprintf(std.Err, "%s %s\n", paint(std.errColour, red, "lkg:"), errorLine(fmt.Sprintf(format, args...)))
}

// warnf prints a warning on stderr, unless -q.
func (std *IO) warnf(format string, args ...any) {
	if std.Quiet {
		return
	}
	fmt.Fprintf(std.Err, "%s %s\n", paint(std.errColour, yellow, "lkg: warning:"), errorLine(fmt.Sprintf(format, args...)))
}

// notef prints a progress note or a hint on stderr, unless -q.
func (std *IO) notef(format string, args ...any) {
	if std.Quiet {
		return
	}
	fmt.Fprintf(std.Err, "lkg: "+format+"\n", args...)
}

// chatter is where a step's own progress output goes (a docker build's
// log): stderr, or nowhere with -q.
func (std *IO) chatter() io.Writer {
	if std.Quiet {
		return io.Discard
	}
	return std.Err
}

// showProgress says whether to draw a progress line: on a terminal, not -q.
func (std *IO) showProgress() bool { return std.ErrTerminal && !std.Quiet }
