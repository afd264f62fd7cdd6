package config

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: whatever a settings file holds, Parse returns a Config or an
// *Error naming the file; it never panics, and no list it returns is
// longer than MaxListLen.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"",
		"# only a comment\n",
		"images: [r.example.com/app]\ngood_tags: [\"v*\"]\ndepth: 3\nto: r.example.com/app:prod\n",
		"tag_patterns: ['^(?P<rev>[0-9a-f]{7,40})_release$']\nverify_all: true\ndocker: false\n",
		"risk:\n  migration: [\"db/**\", \"*.sql\"]\n  build: []\n  payments: services/**\n",
		"image: [a]\n",
		"depth: x\n",
		"a: &x [1, 2]\nimages: *x\n",
		"images: &x [*x]\n",
		"- a\n- b\n",
		"images: [unclosed\n",
		"risk: {a: [\"[\"]}\n",
		"? [a]\n: b\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const path = "/repo/.lkg.yaml"
		c, err := Parse(path, data)
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Path != path || !strings.Contains(err.Error(), path) {
				t.Fatalf("Parse error %v is not an *Error naming %s", err, path)
			}
			return
		}
		if c.Path != path {
			t.Fatalf("Config.Path = %q, want %q", c.Path, path)
		}
		for _, l := range [][]string{c.GoodTags, c.Images, c.Remotes, c.TagPatterns} {
			if len(l) > MaxListLen {
				t.Fatalf("a list of %d entries, over MaxListLen", len(l))
			}
		}
		if c.Depth != nil && *c.Depth < 1 {
			t.Fatalf("depth %d accepted", *c.Depth)
		}
		for _, k := range Keys() {
			c.Lookup(k)
		}
	})
}
