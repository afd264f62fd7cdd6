package cli

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"text/tabwriter"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/digest"
)

// HistoryCmd is `lkg history`.
type HistoryCmd struct {
	To   string `placeholder:"HOST/REPO:TAG" predictor:"target" help:"The image tag whose deploys and undos to list." env:"LKG_TO" config:"to"`
	Env  string `name:"env" placeholder:"NAME" help:"The environment of .lkg.yaml whose deploys and undos to list, instead of --to."`
	JSON bool   `name:"json" help:"Print exactly one JSON object: the target and its entries, newest first."`
}

// Help is the long text of `lkg history --help`.
func (c *HistoryCmd) Help() string {
	return `Lists every deploy and undo of --to recorded in this clone's journal, across
incidents, newest first: when, what the tag held before and after, the version
deployed, the status, who ran it (user@host) and from which clone. Entries are
numbered from 1, oldest first, like 'helm history' numbers its revisions.

'lkg undo --to TAG --to-entry N' puts the tag back to what entry N put there,
like 'helm rollback N'.`
}

// Validate checks --to.
func (c *HistoryCmd) Validate() error {
	if c.Env != "" {
		return nil
	}
	if c.To == "" {
		return usagef("missing flags: --to=HOST/REPO:TAG or --env=NAME")
	}
	return checkTarget(c.To)
}

// historyJSON is what --json prints.
type historyJSON struct {
	Target  string         `json:"target"`
	Entries []deploy.Entry `json:"entries"`
}

// Run prints the target's history.
func (c *HistoryCmd) Run(g *Globals, std *IO) error {
	events, err := journalEvents(g, std)
	if err != nil {
		return err
	}
	if c.Env != "" {
		t, err := g.openEnv(std, c.Env, 0)
		if err != nil {
			return err
		}
		c.To = t.String()
	}
	revs := deploy.History(events, c.To)
	if c.JSON {
		if revs == nil {
			revs = []deploy.Entry{}
		}
		return writeJSON(std.Out, historyJSON{Target: c.To, Entries: revs})
	}
	if len(revs) == 0 {
		fmt.Fprintf(std.Out, "No deploy or undo of %s is recorded in this clone's journal.\n", c.To)
		return nil
	}
	tw := tabwriter.NewWriter(std.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTRY\tTIME (UTC)\tACTION\tSTATUS\tNOW AT\tWAS\tVERSION\tBY\tCLONE")
	for _, r := range revs {
		action := string(r.Kind)
		if r.ToEntry != 0 {
			action = fmt.Sprintf("undo to %d", r.ToEntry)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Number, r.Time.UTC().Format("2006-01-02 15:04:05"),
			action, r.Status, orDash(digest.Short(nowAt(r))), orDash(digest.Short(r.Previous)),
			orDash(r.GoodTag), orDash(r.User), orDash(r.Clone))
	}
	return tw.Flush()
}

// nowAt is where entry r left its target: the digest it moved to once
// done (or already there), else what it was read back at ("" when it
// could not be: a move killed, or not read back in time).
func nowAt(r deploy.Entry) string {
	if r.Status.Finished() {
		return r.Digest
	}
	return r.Now
}

// who is the user running lkg, as user@host, for the journal.
func who() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return name + "@" + host
}

// clonePath is the repository -C names, as an absolute path: its work
// tree, or a bare repository's directory.
func clonePath(g *Globals) string {
	root := config.RepoRoot(g.Dir)
	if abs, err := filepath.Abs(root); err == nil {
		return abs
	}
	return root
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
