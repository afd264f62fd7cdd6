package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/types"
)

// EnvState is what one environment runs now: a row of lkg status.
type EnvState struct {
	Env      string       `json:"env"`
	Target   string       `json:"target"`
	Digest   string       `json:"digest"`   // "" when the target holds nothing
	Revision string       `json:"revision"` // the commit the build records; "" when none
	GoodTag  string       `json:"good_tag"` // the nearest known-good tag; "" when none
	Match    finder.Match `json:"match"`    // exact, tree, contains (a commit after GoodTag), or ""
	Created  time.Time    `json:"created"`  // the build's creation time; zero when unknown
	Error    string       `json:"error,omitempty"`
}

// Commits is what EnvStatus needs of git.
type Commits interface {
	Resolve(rev string) (types.Commit, error)
	IsAncestor(ancestor, of string) (bool, error)
}

// Inspector reads the image a registry reference ("host/repo@sha256:..."
// or "host/repo:tag") names: artifacts.Repository.Inspect behind a small
// function, so status can be tested with fakes.
type Inspector func(ctx context.Context, image string) (types.Artifact, error)

// EnvStatus says what environment env, whose target is t, runs now: the
// digest, the revision its build records, and the nearest of goods (newest
// first) by find's own rule (finder.GoodFor), else the newest good the
// revision contains.
func EnvStatus(ctx context.Context, env string, t Target, inspect Inspector, commits Commits, goods []finder.Good) EnvState {
	st := EnvState{Env: env, Target: t.String()}
	now, err := t.Read(ctx)
	if err != nil {
		st.Error = oneLine(err)
		return st
	}
	st.Digest = now.Digest
	image := now.Image
	switch {
	case image == "" && len(now.Detail) > 0:
		st.Error = fmt.Sprintf("%s runs no single build: its units run different ones (lkg deploy puts one build on all)", t)
		return st
	case image == "":
		st.Error = fmt.Sprintf("%s runs nothing: no such tag, or nothing deployed", t)
		return st
	}
	a, err := inspect(ctx, image)
	if err != nil {
		st.Error = oneLine(err)
		return st
	}
	if st.Digest == "" {
		st.Digest = a.Digest
	}
	st.Created = a.Created
	rev, _, ok := finder.RevisionFromArtifact(a)
	if !ok {
		return st
	}
	hex, _ := finder.StripDirty(rev)
	c, err := commits.Resolve(hex)
	if err != nil {
		st.Revision = hex
		st.Error = fmt.Sprintf("revision %s is not in the repository: %s", hex, oneLine(err))
		return st
	}
	st.Revision = c.Hash
	if i, m, ok := finder.GoodFor(goods, c); ok {
		st.GoodTag, st.Match = goods[i].Tag, m
		return st
	}
	for _, g := range goods {
		if ok, err := commits.IsAncestor(g.Commit, c.Hash); err == nil && ok {
			st.GoodTag, st.Match = g.Tag, finder.MatchContains
			return st
		}
	}
	return st
}

// Stage is one environment of an ordered rollout.
type Stage struct {
	Name      string // staging, prod...
	Target    Target
	VerifyURL string // polled after its move; "" for none
}

// Rollout moves stages in the order given, one after the other, with move
// (a Deploy of one target), and calls moved after each stage that produced
// an outcome. The first failure, a verification that got no 2xx included,
// stops it: the stages after it are returned untouched, with that error.
func Rollout(stages []Stage, move func(Stage) (*Outcome, error), moved func(Stage, *Outcome)) (untouched []Stage, err error) {
	for i, s := range stages {
		out, err := move(s)
		if out != nil && moved != nil {
			moved(s, out)
		}
		if err != nil {
			return stages[i+1:], err
		}
	}
	return nil, nil
}
