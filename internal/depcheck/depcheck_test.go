// Package depcheck holds the layout's import rules as a test. It sits in
// a package of its own, importing nothing of lkg, so its test binary is
// small: in package main it linked all of lkg and was linked again after
// every change anywhere.
package depcheck

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

// The layout's import rules, checked the way go-containerregistry's
// cmd/crane/depcheck_test.go checks its own: with `go list -deps`, on the
// packages as built (test files excluded), so a rule that is broken fails
// here rather than only in review.
var importRules = []struct {
	pkgs   string   // a go list pattern
	forbid []string // import paths (a trailing / : prefixes) no dependency may have
	stdlib []string // when set, the only non-standard dependencies allowed
	why    string
}{
	{
		pkgs:   "./finder/...",
		forbid: []string{"github.com/go-git/", "github.com/google/go-containerregistry/", "github.com/docker/", "github.com/moby/", "github.com/lkg-dev/lkg/gitops", "github.com/lkg-dev/lkg/artifacts", "github.com/lkg-dev/lkg/scan"},
		why:    "finder decides over plain values and small interfaces: no git, registry or engine code, and not scan, which calls it",
	},
	{
		pkgs:   "./artifacts/...",
		forbid: []string{"github.com/go-git/", "github.com/lkg-dev/lkg/gitops"},
		why:    "artifacts wraps registries and the engine, and knows nothing of git",
	},
	{
		pkgs:   "./gitops/...",
		forbid: []string{"github.com/google/go-containerregistry/", "github.com/docker/", "github.com/lkg-dev/lkg/artifacts"},
		why:    "gitops wraps go-git, and knows nothing of registries or the engine",
	},
	{
		pkgs:   "./suspects/...",
		forbid: []string{"github.com/google/go-containerregistry/", "github.com/docker/", "github.com/lkg-dev/lkg/artifacts"},
		why:    "suspects reads git history, and knows nothing of registries or the engine",
	},
	{
		pkgs:   "./provenance/...",
		forbid: []string{"github.com/go-git/", "github.com/docker/", "github.com/lkg-dev/lkg/gitops", "github.com/lkg-dev/lkg/artifacts", "github.com/lkg-dev/lkg/finder", "github.com/lkg-dev/lkg/scan", "github.com/sigstore/sigstore-go/pkg/testing/"},
		why:    "provenance reads statements and verifies signatures over bytes it is handed: no git or engine code, not artifacts (sigstore itself parses image names), no test CA",
	},
	{
		pkgs:   "./types/...",
		stdlib: []string{"github.com/lkg-dev/lkg/types"},
		why:    "types is the leaf every package may import: it imports only the standard library",
	},
	{
		pkgs:   "./internal/digest/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/digest"},
		why:    "digest is a leaf: standard library only",
	},
	{
		pkgs:   "./internal/text/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/text"},
		why:    "text is a leaf that deploy, report, journal and gitops import: standard library only",
	},
	{
		pkgs:   "./internal/redact/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/redact"},
		why:    "redact is a leaf every printing package may use: standard library only",
	},
	{
		pkgs:   "./internal/termsafe/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/termsafe"},
		why:    "termsafe is a leaf every printing package may use: standard library only",
	},
	{
		pkgs:   "./internal/warn/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/warn"},
		why:    "warn is a leaf finder uses: standard library only",
	},
	{
		pkgs:   "./internal/radix/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/radix"},
		why:    "radix is a leaf the pack reader and the commit table use: standard library only",
	},
	{
		pkgs:   "./internal/config/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/config", "go.yaml.in/yaml/"},
		why:    "config is a leaf that gitops and artifacts import: standard library and YAML only",
	},
	{
		pkgs:   "./automation/...",
		stdlib: []string{"github.com/lkg-dev/lkg/automation", "go.yaml.in/yaml/"},
		why:    "automation reads a work tree's files: standard library and YAML only, no cluster, registry or git client",
	},
	{
		pkgs:   "./internal/errs/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/errs"},
		why:    "errs is the one error vocabulary every package speaks: standard library only",
	},
	{
		pkgs:   "./internal/imageref/...",
		stdlib: []string{"github.com/lkg-dev/lkg/internal/imageref"},
		why:    "imageref is the one image reference, finder's too: standard library only",
	},
	{
		pkgs:   "./journal/...",
		forbid: []string{"github.com/go-git/", "github.com/google/go-containerregistry/", "github.com/docker/", "github.com/lkg-dev/lkg/gitops", "github.com/lkg-dev/lkg/artifacts", "github.com/lkg-dev/lkg/deploy", "github.com/lkg-dev/lkg/cli"},
		why:    "the journal is a file of typed events: no git, registry or engine code, and not the deploy core that writes it",
	},
	{
		pkgs:   "./report/...",
		forbid: []string{"github.com/go-git/", "github.com/google/go-containerregistry/", "github.com/docker/", "github.com/lkg-dev/lkg/gitops", "github.com/lkg-dev/lkg/artifacts", "github.com/lkg-dev/lkg/deploy", "github.com/lkg-dev/lkg/cli"},
		why:    "the report is written from the journal alone, offline",
	},
	{
		pkgs:   "github.com/lkg-dev/lkg/deploy",
		forbid: []string{"github.com/lkg-dev/lkg/deploy/", "github.com/lkg-dev/lkg/cli", "github.com/lkg-dev/lkg/scan"},
		why:    "the deploy core knows targets only through its Target interface: no target's package, and it takes find's answer rather than running find",
	},
	{
		pkgs:   "./deploy/...",
		forbid: []string{"github.com/lkg-dev/lkg/cli", "github.com/lkg-dev/lkg/internal/fixture", "github.com/lkg-dev/lkg/internal/kubetest", "github.com/rogpeppe/go-internal/testscript"},
		why:    "the core and its targets are libraries the CLI calls",
	},
	{
		pkgs:   "./cli/...",
		forbid: []string{"github.com/lkg-dev/lkg/internal/fixture", "github.com/lkg-dev/lkg/internal/kubetest", "github.com/lkg-dev/lkg/internal/testenv", "github.com/rogpeppe/go-internal/testscript"},
		why:    "the CLI package ships in the binary: no test fixtures",
	},
	{
		pkgs:   ".",
		forbid: []string{"github.com/lkg-dev/lkg/internal/fixture", "github.com/lkg-dev/lkg/internal/kubetest", "github.com/rogpeppe/go-internal/testscript"},
		why:    "the lkg binary does not link test fixtures",
	},
}

func TestImportRules(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	root := moduleRoot(t, goTool)
	for _, rule := range importRules {
		name := strings.TrimSuffix(strings.TrimPrefix(rule.pkgs, "./"), "/...")
		if name == "." {
			name = "lkg"
		}
		t.Run(name, func(t *testing.T) {
			deps := listDeps(t, goTool, root, rule.pkgs)
			for path, d := range deps {
				bad := hasPrefix(path, rule.forbid)
				if rule.stdlib != nil && !d.std && !hasPrefix(path, rule.stdlib) {
					bad = true
				}
				if bad {
					t.Errorf("%s depends on %s (imported by %s): %s", rule.pkgs, path, strings.Join(importers(deps, path), ", "), rule.why)
				}
			}
		})
	}
}

type dep struct {
	std     bool
	imports []string
}

// moduleRoot is the directory of lkg's go.mod, where the rules' patterns
// are relative to.
func moduleRoot(t *testing.T, goTool string) string {
	t.Helper()
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// listDeps is `go list -deps pattern` in the module's root: every package
// the pattern's packages build with, themselves included. A pattern that
// matches no package (a directory not there yet) fails the rule.
func listDeps(t *testing.T, goTool, root, pattern string) map[string]dep {
	t.Helper()
	cmd := exec.Command(goTool, "list", "-deps", "-f", `{{.ImportPath}} {{.Standard}} {{join .Imports ","}}`, pattern)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, stderr.Bytes())
	}
	if strings.Contains(stderr.String(), "matched no packages") || len(bytes.TrimSpace(out)) == 0 {
		t.Fatalf("go list -deps %s matched no packages: the rule guards nothing; fix its pattern", pattern)
	}
	deps := map[string]dep{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		d := dep{std: f[1] == "true"}
		if len(f) > 2 {
			d.imports = strings.Split(f[2], ",")
		}
		deps[f[0]] = d
	}
	return deps
}

func hasPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == p || strings.HasPrefix(path, p) && (strings.HasSuffix(p, "/") || strings.HasPrefix(path, p+"/")) {
			return true
		}
	}
	return false
}

// importers are the packages among deps that import path directly.
func importers(deps map[string]dep, path string) []string {
	var out []string
	for p, d := range deps {
		for _, imp := range d.imports {
			if imp == path {
				out = append(out, p)
			}
		}
	}
	return out
}
