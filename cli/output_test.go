package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/config"
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

func TestFlagValueKeepsCommas(t *testing.T) {
	got := flagValue([]string{`^b-(?P<rev>[0-9a-f]{7,40})$`, "3"})
	list, ok := got.([]any)
	if !ok || len(list) != 2 || list[0] != `^b-(?P<rev>[0-9a-f]{7,40})$` || list[1] != "3" {
		t.Errorf("flagValue(list) = %#v, want the two elements as strings", got)
	}
	if got := flagValue(3); got != "3" {
		t.Errorf("flagValue(3) = %#v, want \"3\"", got)
	}
}

// TestConfigKeys: every flag's config tag names a key .lkg.yaml may set, so
// the file cannot refuse a key a flag documents.
func TestConfigKeys(t *testing.T) {
	parser, err := kong.New(&CLI{})
	if err != nil {
		t.Fatal(err)
	}
	valid := map[string]bool{}
	for _, k := range config.Keys() {
		valid[k] = true
	}
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		for _, f := range n.Flags {
			if key := f.Tag.Get("config"); key != "" && !valid[key] {
				t.Errorf("--%s has config:%q, which internal/config does not know", f.Name, key)
			}
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(parser.Model.Node)
}

// TestPaintedTableAligns: painted MATCH cells all carry the same invisible
// bytes, so the table lines up exactly as the plain one does.
func TestPaintedTableAligns(t *testing.T) {
	rows := [][2]string{{"exact", "refs/heads/main"}, {"contains", "refs/heads/x"}, {"tag", "v1"}}
	table := func(on bool) string {
		var b strings.Builder
		writeTable(&b, "T", paint(on, bold, "MATCH")+"\tREF", len(rows), func(i int) string {
			return paint(on, matchColour(rows[i][0]), rows[i][0]) + "\t" + rows[i][1]
		})
		return b.String()
	}
	sgr := regexp.MustCompile("\x1b\\[[0-9]+m")
	plain, painted := table(false), table(true)
	if painted == plain {
		t.Fatal("painting changed nothing")
	}
	if got := sgr.ReplaceAllString(painted, ""); got != plain {
		t.Errorf("painted table without colour =\n%s\nwant\n%s", got, plain)
	}
}
