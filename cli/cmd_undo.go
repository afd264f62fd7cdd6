package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/journal"
)

// UndoCmd is `lkg undo`.
type UndoCmd struct {
	To      string        `placeholder:"HOST/REPO:TAG" predictor:"target" help:"The image tag to put back where it was before the last deploy." env:"LKG_TO" config:"to"`
	Env     string        `name:"env" placeholder:"NAME" help:"The environment of .lkg.yaml to put back (its to: or gitops: file), instead of --to."`
	DryRun  bool          `name:"dry-run" help:"Print the plan and change nothing."`
	Yes     bool          `short:"y" help:"Do not ask for confirmation (required when stdin is not a terminal)."`
	JSON    bool          `name:"json" help:"Print exactly one JSON object: what moved, from which digest to which."`
	ToEntry int           `name:"to-entry" aliases:"to-revision" placeholder:"N" help:"Put the tag back to what entry N of 'lkg history' put there (like helm rollback N), instead of before the last deploy."`
	Settle  time.Duration `name:"settle" default:"500ms" placeholder:"D" help:"After the move, read a registry tag again after D to catch another writer; a new container without a HEALTHCHECK must run D without exiting to count as up." env:"LKG_SETTLE"`
	Branch  string        `name:"gitops-branch" placeholder:"NAME" help:"For an --env with a gitops: config repository: push the revert commit to branch NAME for review, instead of to the environment's branch (a new branch from it, or the one an earlier --gitops-branch deploy pushed)."`
}

// Help is the long text of `lkg undo --help`.
func (c *UndoCmd) Help() string {
	return `Reads the incident journal for the last successful deploy to --to and moves the
tag back to the digest it had before (a single manifest PUT in the same
repository). If the tag has moved since that deploy, nothing is changed.

With --to-entry N it puts the tag back to what entry N of
'lkg history --to TAG' put there (like 'helm rollback N'), with the same plan,
dry run, confirmation and checks as deploy.`
}

// Validate checks --to and --to-revision.
func (c *UndoCmd) Validate() error {
	if c.ToEntry < 0 {
		return usagef("--to-entry %d: entries are numbered from 1 (see 'lkg history --to %s')", c.ToEntry, c.To)
	}
	if c.Branch != "" && c.Env == "" {
		return usagef("--gitops-branch %s goes with --env, whose gitops: config repository gets the branch", c.Branch)
	}
	if c.Env != "" {
		return nil
	}
	if c.To == "" {
		return usagef("missing flags: --to=HOST/REPO:TAG or --env=NAME")
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
	var target deploy.Target
	if c.Env != "" {
		target, err = g.openEnv(std, c.Env, c.Settle)
	} else {
		target, err = g.openTarget(std, c.To, c.Settle)
	}
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
	if c.Branch != "" {
		f, err := forReview(target, c.Env, c.Branch)
		if err != nil {
			return err
		}
		// The review branch starts from the environment's branch: the
		// deploys to that are undone on it as well as its own.
		target, events = f, retarget(events, f.Base(), f.String())
	}
	o := moveOptions(std, gitDir, c.DryRun, c.Yes, c.JSON)
	o.User, o.Clone = who(), clonePath(g)
	o.Review = c.Branch
	var out *deploy.Outcome
	if c.ToEntry > 0 {
		out, err = deploy.UndoTo(ctx, target, recorder(gitDir, std), events, c.ToEntry, o)
	} else {
		out, err = deploy.Undo(ctx, target, recorder(gitDir, std), events, o)
	}
	return printOutcome(std, c.JSON, out, err)
}

// retarget is events with the moves of target from recorded as moves of
// target to.
func retarget(events []journal.Event, from, to string) []journal.Event {
	out := make([]journal.Event, len(events))
	for i, e := range events {
		out[i] = e
		var m journal.Move
		if (e.Kind != journal.KindDeploy && e.Kind != journal.KindUndo) || e.DecodeData(&m) != nil || m.Target != from {
			continue
		}
		m.Target = to
		if raw, err := json.Marshal(m); err == nil {
			out[i].Data = raw
		}
	}
	return out
}
