package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/journal"
)

// UndoCmd is `lkg undo`.
type UndoCmd struct {
	To     string `required:"" placeholder:"HOST/REPO:TAG" help:"The image tag to put back where it was before the last deploy." env:"LKG_TO" config:"to"`
	DryRun bool   `name:"dry-run" help:"Print the plan and change nothing."`
	Yes    bool   `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
	JSON   bool   `name:"json" help:"Print exactly one JSON object: what moved, from which digest to which."`
}

// Help is the long text of `lkg undo --help`.
func (c *UndoCmd) Help() string {
	return `Reads the incident journal for the last successful deploy to --to and moves the
tag back to the digest it had before (a single manifest PUT in the same
repository). If the tag has moved since that deploy, nothing is changed.`
}

// Validate checks --to.
func (c *UndoCmd) Validate() error { return checkTarget(c.To) }

// errNoDeploy: the journal has no successful deploy to the target.
var errNoDeploy = errors.New("no deploy to undo")

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
	now, err := copier.TargetDigest(ctx, c.To)
	if err != nil {
		return explain(err, c.To)
	}
	last, err := lastDeploy(repo.GitDir(), c.To, now)
	if err != nil {
		return err
	}
	if last.Previous == "" {
		return &deployError{
			err:  fmt.Errorf("the last deploy created %s (it did not exist before): %w", c.To, errNoDeploy),
			hint: "A registry cannot drop a tag without its manifest; deploy the build you want with 'lkg deploy --good REF'",
			code: exitFailure,
		}
	}
	expect := last.Digest
	d := &deployment{
		target: c.To, dryRun: c.DryRun, yes: c.Yes, json: c.JSON,
		kind: journal.KindUndo, copier: copier, repo: repo, std: std,
		source: repoOf(c.To) + "@" + last.Previous,
		expect: &expect,
		what:   fmt.Sprintf("put %s back to %s, where it was before the last deploy", c.To, digest.Short(last.Previous)),
		report: deployReport{Method: methodCopy, Build: repoOf(c.To) + "@" + last.Previous},
	}
	// Undoing twice is a no-op, not an error: the tag is where undo puts it.
	if now == last.Previous {
		d.report.Target, d.report.Previous, d.report.Digest, d.report.Status = c.To, now, now, statusUnchanged
		d.report.Referrers, d.report.CosignTags = []string{}, []string{}
		return d.finish(fmt.Sprintf("%s is already at %s, where it was before the last deploy; nothing to do.", c.To, now))
	}
	return d.run(ctx)
}

// lastDeploy is the newest deploy event to target whose status is done, or
// the newest one of all when it never got past planned (lkg was killed)
// and the target is no longer where it was planned from (now).
func lastDeploy(gitDir, target, now string) (journal.DeployData, error) {
	j, err := openJournal(gitDir)
	if err != nil {
		return journal.DeployData{}, err
	}
	events, _, err := j.Events()
	if err != nil {
		return journal.DeployData{}, fmt.Errorf("reading the incident journal: %w", err)
	}
	newest := true
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		if e.Kind != journal.KindDeploy {
			continue
		}
		var d journal.DeployData
		if err := e.DecodeData(&d); err != nil || d.Target != target {
			continue
		}
		switch {
		case d.Status == statusDone:
			return d, nil
		case newest && d.Status == statusPlanned && d.Digest != "" && now != d.Previous:
			// A deploy that was killed between planning and recording its
			// outcome, after the tag left where it was: its previous digest
			// is on record, and the compare and swap against its planned
			// digest refuses if something else moved the tag. Killed
			// before the move, it changed nothing and is passed over.
			return d, nil
		}
		newest = false
	}
	return journal.DeployData{}, &deployError{
		err:  fmt.Errorf("the incident journal records no successful deploy to %s: %w", target, errNoDeploy),
		hint: "Check the target with 'lkg journal', or run undo in the repository deploy ran in (-C DIR)",
		code: exitFailure,
	}
}
