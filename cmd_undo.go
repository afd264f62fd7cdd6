package main

import (
	"context"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
)

// UndoCmd is `lkg undo`.
type UndoCmd struct {
	To     string        `required:"" placeholder:"HOST/REPO:TAG" help:"The image tag to put back where it was before the last deploy." env:"LKG_TO" config:"to"`
	DryRun bool          `name:"dry-run" help:"Print the plan and change nothing."`
	Yes    bool          `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
	JSON   bool          `name:"json" help:"Print exactly one JSON object: what moved, from which digest to which."`
	Settle time.Duration `name:"settle" default:"500ms" placeholder:"D" help:"After the move, read the target again after D to catch another writer."`
}

// Help is the long text of `lkg undo --help`.
func (c *UndoCmd) Help() string {
	return `Reads the incident journal for the last successful deploy to --to and moves the
tag back to the digest it had before (a single manifest PUT in the same
repository). If the tag has moved since that deploy, nothing is changed.`
}

// Validate checks --to.
func (c *UndoCmd) Validate() error { return checkTarget(c.To) }

// Run moves the target back to its digest before the last deploy.
func (c *UndoCmd) Run(ctx context.Context, g *Globals, std *IO) error {
	if !c.DryRun && !c.Yes && !std.InTerminal {
		return usagef("refusing to undo %s without --yes: no terminal to confirm on. See the plan with --dry-run, then run again with --yes", c.To)
	}
	repo, err := g.openRepo()
	if err != nil {
		return err
	}
	copier, err := artifacts.NewCopier()
	if err != nil {
		return err
	}
	j, err := openJournal(repo.GitDir())
	if err != nil {
		return err
	}
	events, _, err := j.Events()
	if err != nil {
		return fmt.Errorf("reading the incident journal: %w", err)
	}
	out, err := deploy.Undo(ctx, copier, recorder(repo.GitDir(), std), events, c.To, moveOptions(std, repo.GitDir(), c.DryRun, c.Yes, c.JSON, c.Settle)...)
	return printOutcome(std, c.JSON, out, err)
}
