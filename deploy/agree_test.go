package deploy

import (
	"context"
	"testing"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/types"
)

// TestEnvStatusAgreesWithFind: a build whose commit is an older good tag's
// and whose tree is a newer good tag's (a revert that rebuilt the newer
// release's tree on the older commit's history) is placed by find at the
// newest good tag it fits. Status must name the same tag.
func TestEnvStatusAgreesWithFind(t *testing.T) {
	commits := fakeCommits{
		parent: map[string]string{},
		tree:   map[string]string{"c111111": "t2", "c222222": "t2"},
	}
	goods := []finder.Good{{Tag: "v2", Commit: "c222222", Tree: "t2"}, {Tag: "v1", Commit: "c111111", Tree: "t2"}}
	inspect := func(context.Context, string) (types.Artifact, error) {
		return types.Artifact{Digest: "sha256:x", Labels: map[string]string{"org.opencontainers.image.revision": "c111111"}}, nil
	}
	st := EnvStatus(context.Background(), "prod", imageTarget("reg/app:prod"), inspect, commits, goods)
	if st.GoodTag != "v2" || st.Match != "tree" {
		t.Errorf("status places the build at %s (%s); find places it at v2 (tree)", st.GoodTag, st.Match)
	}
}
