package deploy

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/types"
)

// fakeCommits is a history: each commit's parent, and its tree.
type fakeCommits struct {
	parent map[string]string
	tree   map[string]string
}

func (f fakeCommits) Resolve(rev string) (types.Commit, error) {
	if _, ok := f.tree[rev]; !ok {
		return types.Commit{}, errors.New("unknown revision")
	}
	return types.Commit{Hash: rev, Tree: f.tree[rev]}, nil
}

func (f fakeCommits) IsAncestor(ancestor, of string) (bool, error) {
	for c := of; c != ""; c = f.parent[c] {
		if c == ancestor {
			return true, nil
		}
	}
	return false, nil
}

func TestEnvStatus(t *testing.T) {
	commits := fakeCommits{
		parent: map[string]string{"c222222": "c111111", "c333333": "c222222", "e111111": "c000000"},
		tree:   map[string]string{"c000000": "t0", "c111111": "t1", "c222222": "t2", "c333333": "t3", "e111111": "t1"},
	}
	goods := []finder.Good{{Tag: "v2", Commit: "c222222", Tree: "t2"}, {Tag: "v1", Commit: "c111111", Tree: "t1"}}
	created := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	runs := map[string]string{"reg/app:a": "c222222", "reg/app:b": "e111111", "reg/app:c": "c333333", "reg/app:d": "f999999", "reg/app:e": ""}
	inspect := func(_ context.Context, target string) (types.Artifact, error) {
		rev, ok := runs[target]
		if !ok {
			return types.Artifact{}, errors.New("tag not found")
		}
		a := types.Artifact{Digest: "sha256:" + target, Created: created}
		if rev != "" {
			a.Labels = map[string]string{"org.opencontainers.image.revision": rev}
		}
		return a, nil
	}
	for _, tc := range []struct {
		target, goodTag, match string
		wantErr                bool
	}{
		{"reg/app:a", "v2", "exact", false},
		{"reg/app:b", "v1", "tree", false},
		{"reg/app:c", "v2", string(finder.MatchContains), false},
		{"reg/app:d", "", "", true},
		{"reg/app:e", "", "", false},
		{"reg/app:gone", "", "", true},
	} {
		st := EnvStatus(context.Background(), "x", imageTarget(tc.target), inspect, commits, goods)
		if st.GoodTag != tc.goodTag || string(st.Match) != tc.match || (st.Error != "") != tc.wantErr {
			t.Errorf("EnvStatus(%s) = %+v; want good %q, match %q, error %v", tc.target, st, tc.goodTag, tc.match, tc.wantErr)
		}
	}
}

func TestRollout(t *testing.T) {
	stages := []Stage{{Name: "dev"}, {Name: "staging"}, {Name: "prod"}}
	errVerify := errors.New("verify failed")
	tests := []struct {
		name          string
		failAt        string
		wantMoved     []string
		wantUntouched []string
	}{
		{"all pass", "", []string{"dev", "staging", "prod"}, nil},
		{"staging fails", "staging", []string{"dev", "staging"}, []string{"prod"}},
		{"last fails", "prod", []string{"dev", "staging", "prod"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var moved, tried []string
			untouched, err := Rollout(stages, func(s Stage) (*Outcome, error) {
				tried = append(tried, s.Name)
				if s.Name == tt.failAt {
					return &Outcome{}, errVerify // the tag moved, the check failed
				}
				return &Outcome{}, nil
			}, func(s Stage, _ *Outcome) { moved = append(moved, s.Name) })
			if got := names(untouched); !slices.Equal(got, tt.wantUntouched) {
				t.Errorf("untouched = %v, want %v", got, tt.wantUntouched)
			}
			if !slices.Equal(moved, tt.wantMoved) || !slices.Equal(tried, tt.wantMoved) {
				t.Errorf("moved %v, tried %v; want %v", moved, tried, tt.wantMoved)
			}
			if (tt.failAt != "") != errors.Is(err, errVerify) {
				t.Errorf("err = %v, want errVerify: %v", err, tt.failAt != "")
			}
		})
	}
}

func names(stages []Stage) []string {
	var out []string
	for _, s := range stages {
		out = append(out, s.Name)
	}
	return out
}
