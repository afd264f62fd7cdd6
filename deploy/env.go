package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/types"
)

// EnvState is what one environment runs now: a row of lkg status.
type EnvState struct {
	Env      string    `json:"env"`
	Target   string    `json:"target"`
	Digest   string    `json:"digest"`   // "" when the tag does not exist
	Revision string    `json:"revision"` // the commit the build records; "" when none
	GoodTag  string    `json:"good_tag"` // the nearest known-good tag; "" when none
	Match    string    `json:"match"`    // exact, tree, contains (a commit after GoodTag), or ""
	Created  time.Time `json:"created"`  // the build's creation time; zero when unknown
	Error    string    `json:"error,omitempty"`
}

// The match kinds of EnvState beyond finder's.
const (
	// EnvMatchContains: the environment runs a commit that holds GoodTag's
	// commit: a later one.
	EnvMatchContains = "contains"
)

// Commits is what EnvStatus needs of git.
type Commits interface {
	Resolve(rev string) (types.Commit, error)
	IsAncestor(ancestor, of string) (bool, error)
}

// Inspector reads the image a tag points at (artifacts.Repository.Inspect
// behind a small function, so status can be tested with fakes).
type Inspector func(ctx context.Context, target string) (types.Artifact, error)

// EnvStatus says what the environment env, whose tag is target, runs now:
// the digest, the revision its build records, and the nearest of goods
// (newest first): the newest one at the same commit (exact), else with
// the same tree, else the newest one the revision contains.
func EnvStatus(ctx context.Context, env, target string, inspect Inspector, commits Commits, goods []finder.Good) EnvState {
	st := EnvState{Env: env, Target: target}
	a, err := inspect(ctx, target)
	if err != nil {
		st.Error = oneLine(err)
		return st
	}
	st.Digest, st.Created = a.Digest, a.Created
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
	for _, g := range goods {
		if g.Commit == c.Hash {
			st.GoodTag, st.Match = g.Tag, string(finder.MatchExact)
			return st
		}
	}
	for _, g := range goods {
		if g.Tree != "" && g.Tree == c.Tree {
			st.GoodTag, st.Match = g.Tag, string(finder.MatchTree)
			return st
		}
	}
	for _, g := range goods {
		if ok, err := commits.IsAncestor(g.Commit, c.Hash); err == nil && ok {
			st.GoodTag, st.Match = g.Tag, EnvMatchContains
			return st
		}
	}
	return st
}

// SplitTarget splits "host/repo:tag" into "host/repo" and "tag".
func SplitTarget(target string) (repo, tag string) {
	i := strings.LastIndex(target, ":")
	if i < 0 || strings.Contains(target[i:], "/") {
		return target, ""
	}
	return target[:i], target[i+1:]
}

// Stage is one environment of an ordered rollout.
type Stage struct {
	Name      string // staging, prod...
	To        string // its production tag, HOST/REPO:TAG
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
