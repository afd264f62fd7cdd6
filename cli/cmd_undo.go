package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/gitops"
)

// UndoCmd is `lkg undo`.
type UndoCmd struct {
	To         string        `required:"" placeholder:"HOST/REPO:TAG" predictor:"target" help:"The image tag to put back where it was before the last deploy." env:"LKG_TO" config:"to"`
	DryRun     bool          `name:"dry-run" help:"Print the plan and change nothing."`
	Yes        bool          `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
	JSON       bool          `name:"json" help:"Print exactly one JSON object: what moved, from which digest to which."`
	ToRevision int           `name:"to-revision" placeholder:"N" help:"Put the tag back to what revision N of 'lkg history' put there (like helm rollback N), instead of before the last deploy."`
	Settle     time.Duration `name:"settle" default:"500ms" placeholder:"D" help:"After the move, read the target again after D to catch another writer."`
}

// Help is the long text of `lkg undo --help`.
func (c *UndoCmd) Help() string {
	return `Reads the incident journal for the last successful deploy to --to and moves the
tag back to the digest it had before (a single manifest PUT in the same
repository). If the tag has moved since that deploy, nothing is changed.

With --to-revision N it puts the tag back to what revision N of
'lkg history --to TAG' put there (like 'helm rollback N'), with the same plan,
dry run, confirmation and checks as deploy.`
}

// Validate checks --to and --to-revision.
func (c *UndoCmd) Validate() error {
	if c.ToRevision < 0 {
		return usagef("--to-revision %d: revisions are numbered from 1 (see 'lkg history --to %s')", c.ToRevision, c.To)
	}
	return checkTarget(c.To)
}

// Run moves the target back to its digest before the last deploy.
func (c *UndoCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	if !c.DryRun && !c.Yes && !std.InTerminal {
		return usagef("refusing to undo %s without --yes: no terminal to confirm on. See the plan with --dry-run, then run again with --yes", c.To)
	}
	// Only the journal is needed: undo works in repositories lkg's git
	// library cannot open.
	gitDir, err := gitops.FindGitDir(g.Dir)
	if err != nil {
		return err
	}
	copier, err := artifacts.NewCopier(g.copierOptions(std)...)
	if err != nil {
		return err
	}
	j, err := openJournal(gitDir)
	if err != nil {
		return err
	}
	events, _, err := j.Events()
	if err != nil {
		return fmt.Errorf("reading the incident journal: %w", err)
	}
	opts := append(moveOptions(std, gitDir, c.DryRun, c.Yes, c.JSON, c.Settle), deploy.WithWho(who(), clonePath(g)))
	var out *deploy.Outcome
	if c.ToRevision > 0 {
		out, err = deploy.UndoToRevision(ctx, copier, recorder(gitDir, std), events, c.To, c.ToRevision, opts...)
	} else {
		out, err = deploy.Undo(ctx, copier, recorder(gitDir, std), events, c.To, opts...)
	}
	return printOutcome(std, c.JSON, out, err)
}
