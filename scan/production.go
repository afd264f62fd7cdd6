package scan

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/imageref"
	"regexp"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/types"
)

// errNoProduction: the production tag does not exist, so nothing runs
// that could be the bad deploy.
var errNoProduction = errors.New("no production tag")

// badDeploy is the broken deploy as selectGood uses it.
type badDeploy struct {
	commit types.Commit
	ref    string
	from   string
	// restored says production runs the build lkg's own last deploy put
	// there: the commit is known good, and only what came after it is
	// skipped.
	restored bool
}

// namedBad resolves WithBad.
func (o *options) namedBad(repo *gitops.Repo) (*badDeploy, error) {
	c, err := repo.Resolve(o.bad)
	if err != nil {
		return nil, fmt.Errorf("--bad: %w", err)
	}
	return &badDeploy{commit: c, ref: o.bad, from: "--bad"}, nil
}

// productionBad reads the build the production tag points at now and
// resolves the revision it records (labels, then the annotation, then the
// tag's name: the rules finder matches builds by). When that cannot be
// done (no such tag, no revision recorded, a revision not in the
// repository, a registry that does not answer) the bad deploy stays
// unknown and the reason is a warning: find still answers.
func (o *options) productionBad(ctx context.Context, repo *gitops.Repo, pats []*regexp.Regexp) (*badDeploy, string, error) {
	target := o.target
	// from names what production runs, subject who runs it: "production
	// tag T" is both; a runtime target is "what docker://api runs", which
	// docker://api itself runs.
	from := "production tag " + target
	subject := from
	var ref imageref.Ref
	var err error
	if o.running != "" {
		from, subject = "what "+target+" runs", target
		ref, err = imageref.Parse(o.running)
	} else {
		var tag imageref.Tag
		tag, err = imageref.ParseTag(target)
		ref = tag.Ref
	}
	if err != nil {
		return nil, "", inputf("--to %v", err)
	}
	tag := ref.Tag()
	reg, err := o.openRepository(ref.Repo())
	if err != nil {
		return nil, "", err
	}
	art, err := reg.Inspect(ctx, cmp.Or(ref.Digest(), tag), false)
	if err != nil {
		if ctx.Err() != nil {
			return nil, "", ctx.Err()
		}
		if errors.Is(err, artifacts.ErrTagNotFound) {
			return nil, fmt.Sprintf("%s does not exist yet: no bad deploy to skip", from), errNoProduction
		}
		return nil, fmt.Sprintf("could not read %s to name the bad deploy: %s", from, text.OneLine(err)), nil
	}
	rev, _, ok := finder.RevisionFromArtifact(art)
	if !ok && tag != "" {
		rev, ok = finder.RevisionFromTag(tag, pats)
	}
	if !ok {
		return nil, fmt.Sprintf("%s records no revision (labels, annotation or tag name): the bad deploy is unknown", from), nil
	}
	hex, _ := finder.StripDirty(rev)
	found, failed := repo.Lookup(ctx, []string{hex}, types.LookupHints{}) // the bad deploy is always worth looking for
	if ctx.Err() != nil {
		return nil, "", ctx.Err()
	}
	c, ok := found[hex]
	if !ok || c.Hash == "" {
		why := "is not in the repository or its remotes"
		if err := failed[hex]; err != nil {
			why = text.OneLine(err)
		}
		return nil, fmt.Sprintf("%s runs revision %s, which %s: the bad deploy is unknown", subject, hex, why), nil
	}
	bad := &badDeploy{commit: c, ref: tagAt(repo, c.Hash), from: from}
	if o.deployed != "" && art.Digest == o.deployed {
		bad.restored = true
		return bad, fmt.Sprintf("%s runs %s, which lkg deployed: taken as known good, and only the tags after it are skipped; to go further back, name the bad deploy with --bad REF", subject, bad.ref), nil
	}
	return bad, "", nil
}

// tagAt names a commit by the newest tag pointing at it, else by its
// short hash.
func tagAt(repo *gitops.Repo, hash string) string {
	tags, err := repo.Tags([]string{"*"})
	if err == nil {
		for _, t := range tags {
			if t.Commit.Hash == hash {
				return t.Name
			}
		}
	}
	return text.ShortHash(hash)
}
