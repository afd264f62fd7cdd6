package drill

import (
	"context"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/types"
)

// Report is the drill's answer: what `lkg check --json` prints.
type Report struct {
	// Target is the production tag ("host/repo:tag"); "" when none was
	// given, and then no deploy plan is tried.
	Target string `json:"target"`
	// Current is the digest Target holds now; "" when it does not exist.
	Current string `json:"current"`
	// Platforms are the platforms Target runs, the ones every build must
	// have; empty when unknown (then every platform of a build is checked).
	Platforms []string `json:"platforms"`
	// Deepened says how a shallow clone was deepened for the drill; ""
	// when it was not.
	Deepened string `json:"deepened,omitempty"`
	// Tags are the known-good tags checked, newest first.
	Tags []Tag `json:"tags"`
	// Fallback is the newest known-good tag production does not run: the
	// one an outage would go back to. "" when there is none.
	Fallback string `json:"fallback"`
	// Restorable says Fallback has a build the registry can serve whole.
	// lkg check exits 0 only when it is true.
	Restorable bool     `json:"restorable"`
	Warnings   []string `json:"warnings"`
}

// Tag is one known-good tag's row of the drill.
type Tag struct {
	GoodTag string `json:"good_tag"`
	Commit  string `json:"commit"`
	// Build is the build an outage would deploy for this tag: the best
	// one the registry can still serve whole, else the best one; null
	// when find found none.
	Build *finder.Build `json:"build"`
	// InProduction says Target holds Build now.
	InProduction bool `json:"in_production"`
	// Restorable says every part of Build answered for every platform.
	Restorable bool `json:"restorable"`
	// Checked counts the manifests and blobs of Build that answered.
	Checked int `json:"checked"`
	// Missing is what did not answer (of the best build, when a lesser
	// one was restorable instead).
	Missing []artifacts.Missing `json:"missing"`
	// Plan is the deploy dry run of Build onto Target.
	Plan Plan `json:"plan"`
	// Rebuild is the git ref the code could be rebuilt from: the best
	// branch holding it, else the good tag itself (what `lkg deploy
	// --rebuild --good TAG` exports); "" when the commit is not known.
	Rebuild string `json:"rebuild"`
	// Note says, in words, anything a reader should know about the row.
	Note string `json:"note,omitempty"`
}

// Plan is the outcome of a deploy dry run.
type Plan struct {
	// Status is "ok" (the plan went through), "unchanged" (the target
	// already holds the build), "failed" (Error says why) or "skipped"
	// (no target, or nothing to deploy).
	Status PlanStatus     `json:"status"`
	Method journal.Method `json:"method,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// PlanStatus is how a deploy dry run went.
type PlanStatus string

// The plan statuses.
const (
	PlanOK        PlanStatus = "ok"
	PlanUnchanged PlanStatus = "unchanged"
	PlanFailed    PlanStatus = "failed"
	PlanSkipped   PlanStatus = "skipped"
)

// maxTries bounds how many builds of one good tag are checked before the
// drill gives up on that tag: the best, and two alternatives.
const maxTries = 3

// Check runs the drill over res (find's answer for the last known-good
// tags, newest first) against target, where production runs (nil for
// none): each fallback's deploy onto it is planned as a dry run. Registry
// failures that say nothing about a build (an unreachable registry) are
// returned as errors: a drill that could not look must not pass.
func Check(ctx context.Context, copier *artifacts.Copier, res finder.Result, target deploy.Target) (*Report, error) {
	rep := &Report{Platforms: []string{}, Tags: []Tag{}, Warnings: append([]string{}, res.Warnings...)}
	if target != nil {
		rep.Target = target.String()
		cur, err := target.Read(ctx)
		if err != nil {
			return nil, err
		}
		rep.Current = cur.Digest
		if ref, err := imageref.Parse(cur.Image); err == nil && ref.Host() != "" && cur.Digest != "" {
			if rep.Platforms, err = copier.Platforms(ctx, cur.Image); err != nil {
				return nil, err
			}
			if rep.Platforms == nil {
				rep.Platforms = []string{}
			}
		} else {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf("%s does not exist: every platform of each build is checked", rep.Target))
		}
	}
	for _, g := range res.Good {
		row, err := checkTag(ctx, copier, res, g, rep, target)
		if err != nil {
			return nil, err
		}
		rep.Tags = append(rep.Tags, row)
	}
	for _, row := range rep.Tags {
		if !row.InProduction {
			rep.Fallback, rep.Restorable = row.GoodTag, row.Restorable
			break
		}
	}
	return rep, nil
}

func checkTag(ctx context.Context, copier *artifacts.Copier, res finder.Result, g finder.Good, rep *Report, target deploy.Target) (Tag, error) {
	row := Tag{GoodTag: g.Tag, Commit: g.Commit, Missing: []artifacts.Missing{}, Plan: Plan{Status: PlanSkipped}}
	row.Rebuild = rebuildRef(res, g)
	var builds []finder.Build
	for _, b := range res.Builds {
		if b.GoodTag == g.Tag {
			builds = append(builds, b)
		}
	}
	if len(builds) == 0 {
		row.Note = "no build found"
		return row, nil
	}
	for i, b := range builds {
		if i == maxTries {
			break
		}
		b := b
		if b.Source != types.SourceRegistry {
			// A local engine image is pushed whole by the engine: if the
			// engine lists it, it is there.
			row.Build, row.Restorable = &b, true
			row.Note = "a local Docker image: restorable from this machine only"
			break
		}
		r, err := copier.Restorable(ctx, b.Repo+"@"+b.Digest, rep.Platforms)
		if err != nil {
			return row, err
		}
		if i == 0 {
			row.Build, row.Missing, row.Checked = &b, r.Missing, r.Checked
		}
		if r.OK() {
			if i > 0 {
				row.Note = fmt.Sprintf("best build %s is not restorable (%s); %s is", builds[0].Image, r0(row.Missing), b.Image)
				row.Build, row.Checked = &b, r.Checked
			}
			row.Restorable = true
			break
		}
	}
	if row.Build != nil && rep.Current != "" && row.Build.Digest == rep.Current {
		row.InProduction = true
	}
	if !row.Restorable {
		if row.Note == "" {
			row.Note = "not restorable: " + r0(row.Missing)
		}
		return row, nil
	}
	if target == nil {
		return row, nil
	}
	one := finder.Result{Good: res.Good, Best: row.Build, Builds: []finder.Build{*row.Build}}
	nop := deploy.RecorderFunc(func(journal.Event) error { return nil })
	out, err := deploy.Deploy(ctx, target, nop, one, deploy.Options{DryRun: true})
	switch {
	case err != nil:
		row.Plan = Plan{Status: PlanFailed, Error: oneLine(err)}
	case out.Move.Status == journal.StatusUnchanged:
		row.Plan = Plan{Status: PlanUnchanged, Method: out.Move.Method}
	default:
		row.Plan = Plan{Status: PlanOK, Method: out.Move.Method}
	}
	return row, nil
}

// rebuildRef is the best git ref the good commit can be rebuilt from: a
// branch find ranked for it, else the good tag itself.
func rebuildRef(res finder.Result, g finder.Good) string {
	for _, s := range res.Sources {
		if s.GoodTag == g.Tag {
			if s.Remote != "" {
				return s.Remote + " " + s.Ref
			}
			return s.Ref
		}
	}
	if g.Commit == "" {
		return ""
	}
	return g.Tag
}

// r0 says what the first missing part is, and how many more there are.
func r0(m []artifacts.Missing) string {
	if len(m) == 0 {
		return "nothing is missing"
	}
	first := m[0].Sentence()
	if len(m) > 1 {
		return fmt.Sprintf("%s, and %d more", first, len(m)-1)
	}
	return first
}

func oneLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
