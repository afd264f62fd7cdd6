package scan

import (
	"context"
	"fmt"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/types"
)

// findSources lists the git refs each known-good commit can be rebuilt
// from, newest good first (finder.MergeSources keeps a ref once, under the
// newest good it relates to). Remote discovery and fetching happen once,
// inside the first RefStates call; every later good costs one pass over
// the commit table. Warnings (unreachable remotes, a shallow clone,
// branches left out because they hold the bad deploy) come back deduped.
func findSources(ctx context.Context, repo *gitops.Repo, goods []finder.Good, bad *types.Commit) ([]finder.Source, []string, error) {
	var warnings []string
	seen := map[string]bool{}
	warn := func(w string) {
		if !seen[w] {
			seen[w] = true
			warnings = append(warnings, w)
		}
	}
	perGood := make([][]finder.Source, 0, len(goods))
	saidExcluded := false
	for _, g := range goods {
		states, ws, err := repo.RefStates(ctx, types.Commit{Hash: g.Commit, Tree: g.Tree, Time: g.Time}, bad)
		for _, w := range ws {
			warn(w)
		}
		if err != nil {
			return nil, warnings, fmt.Errorf("finding branches that hold %s: %w", g.Tag, err)
		}
		sources, excluded := finder.ClassifySources(g, states, bad != nil)
		// Said once, for the newest good commit that had any: the branches
		// holding an older good commit are mostly the same ones again.
		if excluded > 0 && !saidExcluded {
			saidExcluded = true
			warn(fmt.Sprintf("%d branch(es) holding %s left out: they also hold the bad deploy %.12s", excluded, g.Tag, bad.Hash))
		}
		perGood = append(perGood, sources)
	}
	return finder.MergeSources(perGood), warnings, nil
}
