package finder

import (
	"slices"
	"strconv"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

func TestClassifySources(t *testing.T) {
	good := Good{Tag: "v2", Commit: cV2.Hash, Tree: cV2.Tree}
	states := []types.RefState{
		{Ref: "refs/heads/release", Commit: cOther.Hash, Tree: cOther.Tree, ContainsGood: true, Ahead: 3},
		{Ref: "refs/heads/hotfix", Commit: cOther.Hash, Tree: cOther.Tree, ContainsGood: true, Ahead: 1},
		{Ref: "refs/heads/main", Commit: cOther.Hash, Tree: cOther.Tree, ContainsGood: true, ContainsBad: true, Ahead: 9},
		{Ref: "refs/heads/revert", Commit: cRebase.Hash, Tree: cV2.Tree, ContainsGood: true, ContainsBad: true, Ahead: 10},
		{Ref: "refs/heads/rebased", Remote: "origin", Commit: cRebase.Hash, Tree: cV2.Tree, Ahead: 4},
		{Ref: "refs/heads/alice/prod", Remote: "origin", Commit: cV2.Hash, Tree: cV2.Tree, ContainsGood: true, Ahead: 0},
		{Ref: "refs/heads/prod", Commit: cV2.Hash, Tree: cV2.Tree, ContainsGood: true, ContainsBad: true, Ahead: 0},
		{Ref: "refs/heads/unrelated", Commit: cV1.Hash, Tree: cV1.Tree},
	}
	tests := []struct {
		name         string
		badKnown     bool
		want         []string // remote/ref:match:ahead
		wantExcluded int
	}{
		{
			name:     "with --bad",
			badKnown: true,
			want: []string{
				"origin/refs/heads/alice/prod:exact:0",
				"/refs/heads/prod:exact:0", // cannot really contain a newer bad commit: exact wins
				"origin/refs/heads/rebased:tree:4",
				"/refs/heads/revert:tree:10", // a revert on top of bad: the good code
				"/refs/heads/hotfix:contains:1",
				"/refs/heads/release:contains:3",
			},
			wantExcluded: 1, // main
		},
		{
			name: "without --bad ContainsBad means nothing",
			want: []string{
				"origin/refs/heads/alice/prod:exact:0",
				"/refs/heads/prod:exact:0",
				"origin/refs/heads/rebased:tree:4",
				"/refs/heads/revert:tree:10",
				"/refs/heads/hotfix:contains:1",
				"/refs/heads/release:contains:3",
				"/refs/heads/main:contains:9",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs, excluded := ClassifySources(good, states, tt.badKnown)
			var got []string
			for _, s := range srcs {
				got = append(got, s.Remote+"/"+s.Ref+":"+string(s.Match)+":"+strconv.Itoa(s.Ahead))
				if s.GoodTag != "v2" {
					t.Errorf("%s: GoodTag = %q, want v2", s.Ref, s.GoodTag)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("sources:\n got %q\nwant %q", got, tt.want)
			}
			if excluded != tt.wantExcluded {
				t.Errorf("excluded = %d, want %d", excluded, tt.wantExcluded)
			}
		})
	}
}

func TestClassifySourcesEmpty(t *testing.T) {
	srcs, excluded := ClassifySources(goodV2, nil, true)
	if srcs == nil || len(srcs) != 0 || excluded != 0 {
		t.Errorf("got %#v, %d; want an empty non-nil list and 0", srcs, excluded)
	}
}

func TestMergeSources(t *testing.T) {
	v2 := []Source{
		{Ref: "refs/heads/prod", Match: MatchExact, GoodTag: "v2"},
		{Ref: "refs/heads/main", Remote: "origin", Match: MatchContains, Ahead: 2, GoodTag: "v2"},
	}
	v1 := []Source{
		{Ref: "refs/heads/v1-maint", Match: MatchExact, GoodTag: "v1"},
		{Ref: "refs/heads/main", Remote: "origin", Match: MatchContains, Ahead: 9, GoodTag: "v1"},
		{Ref: "refs/heads/main", Match: MatchContains, Ahead: 9, GoodTag: "v1"}, // local main is another ref
	}
	var got []string
	for _, s := range MergeSources([][]Source{v2, v1}) {
		got = append(got, s.Remote+"/"+s.Ref+"@"+s.GoodTag)
	}
	want := []string{"/refs/heads/prod@v2", "origin/refs/heads/main@v2", "/refs/heads/v1-maint@v1", "/refs/heads/main@v1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := MergeSources(nil); got == nil {
		t.Error("MergeSources(nil) = nil, want an empty list")
	}
}
