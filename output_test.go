package main

import (
	"testing"

	"github.com/lkg-dev/lkg/finder"
)

func TestWhereSource(t *testing.T) {
	tests := []struct {
		src  finder.Source
		want string
	}{
		{finder.Source{Ref: "refs/heads/main"}, "local"},
		{finder.Source{Ref: "refs/heads/release/1.4", Remote: "origin"}, "origin"},
		{finder.Source{Ref: "refs/heads/alice/fix-cart", Remote: "origin"}, "origin (alice's branch)"},
		{finder.Source{Ref: "refs/remotes/origin/bob/wip", Remote: "origin"}, "origin (bob's branch)"},
		{finder.Source{Ref: "refs/heads/alice/rebased", Remote: "alice"}, "alice"},
		{finder.Source{Ref: "refs/heads/hotfix", Remote: "https://git.example.com/fork.git"}, "https://git.example.com/fork.git"},
	}
	for _, tt := range tests {
		if got := whereSource(tt.src); got != tt.want {
			t.Errorf("whereSource(%q on %q) = %q, want %q", tt.src.Ref, tt.src.Remote, got, tt.want)
		}
	}
}

func TestConfigValueKeepsCommas(t *testing.T) {
	got := configValue([]any{`^b-(?P<rev>[0-9a-f]{7,40})$`, 3})
	list, ok := got.([]any)
	if !ok || len(list) != 2 || list[0] != `^b-(?P<rev>[0-9a-f]{7,40})$` || list[1] != "3" {
		t.Errorf("configValue(list) = %#v, want the two elements as strings", got)
	}
}
