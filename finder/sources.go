package finder

import (
	"cmp"
	"slices"

	"github.com/lkg-dev/lkg/types"
)

// ClassifySources turns what gitops knows of each ref into the refs the good
// code can be rebuilt from, best first: exact (the tip is the good commit),
// tree (the tip has the good root tree), contains (the good commit is an
// ancestor of the tip); then fewest commits ahead; then ref name and remote.
// badKnown says whether --bad was given, so that RefState.ContainsBad means
// something.
//
// A ref that contains the good commit but also the bad one is left out and
// counted in excluded, so the caller can say so. Exact and tree matches are
// never excluded: their tip holds exactly the good code whatever the history
// (a tip that is the good commit cannot contain a newer bad one, and a tree
// match on top of the bad commit is a revert, which is what we want).
// Refs unrelated to the good commit are neither listed nor counted.
func ClassifySources(good Good, states []types.RefState, badKnown bool) (sources []Source, excluded int) {
	sources = []Source{}
	for _, st := range states {
		var m Match
		switch {
		case st.Commit != "" && st.Commit == good.Commit:
			m = MatchExact
		case st.Tree != "" && st.Tree == good.Tree:
			m = MatchTree
		case st.ContainsGood && badKnown && st.ContainsBad:
			excluded++
			continue
		case st.ContainsGood:
			m = MatchContains
		default:
			continue
		}
		ahead := st.Ahead
		if m == MatchExact {
			ahead = 0 // by definition, whatever the caller counted
		}
		sources = append(sources, Source{
			Ref:     st.Ref,
			Remote:  st.Remote,
			Commit:  st.Commit,
			Match:   m,
			Ahead:   ahead,
			GoodTag: good.Tag,
		})
	}
	slices.SortStableFunc(sources, compareSources)
	return sources, excluded
}

func compareSources(a, b Source) int {
	return cmp.Or(
		cmp.Compare(matchStrength(a.Match), matchStrength(b.Match)),
		cmp.Compare(a.Ahead, b.Ahead),
		cmp.Compare(a.Ref, b.Ref),
		cmp.Compare(a.Remote, b.Remote),
	)
}

// MergeSources joins the ClassifySources lists of several goods, given
// newest good first, into one list: the newest good's sources first, each in
// its own order. A ref already listed for a newer good is not repeated for
// an older one: how it relates to the newest good is what the engineer
// needs, and one ref printed twice reads like two places to rebuild from.
func MergeSources(perGood [][]Source) []Source {
	out := []Source{}
	seen := map[[2]string]bool{}
	for _, list := range perGood {
		for _, s := range list {
			k := [2]string{s.Remote, s.Ref}
			if seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}
