package suspects

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// RiskRule flags files by path. A pattern without a slash matches a file's
// base name anywhere in the tree (like .gitignore: "*.sql", "go.sum"); a
// pattern with a slash matches the whole path from the repository root, and
// "**" in it matches any number of directories (".github/workflows/**",
// "**/migrations/**"). Other syntax is path.Match's.
type RiskRule struct {
	Category string   `json:"category" yaml:"category"`
	Patterns []string `json:"patterns" yaml:"patterns"`
}

// The default risk categories.
const (
	RiskMigration  = "migration"
	RiskDependency = "dependency"
	RiskInfra      = "infra"
	RiskBuild      = "build"
	RiskConfig     = "config"
)

// DefaultRiskRules are the categories a change review looks at first when
// a deploy went bad: schema migrations, dependency manifests and lock files,
// infrastructure and CI, Dockerfiles and build files, feature flags and
// configuration.
func DefaultRiskRules() []RiskRule {
	return []RiskRule{
		{RiskMigration, []string{"**/migrations/**", "**/migrate/**", "**/alembic/**", "**/flyway/**", "*.sql", "schema.rb", "structure.sql"}},
		{RiskDependency, []string{"go.mod", "go.sum", "go.work", "go.work.sum",
			"package.json", "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb",
			"requirements*.txt", "Pipfile", "Pipfile.lock", "poetry.lock", "pyproject.toml", "uv.lock", "setup.py", "setup.cfg",
			"Gemfile", "Gemfile.lock", "Cargo.toml", "Cargo.lock", "pom.xml", "build.gradle", "build.gradle.kts",
			"gradle.lockfile", "composer.json", "composer.lock", "mix.exs", "mix.lock", "packages.lock.json", "*.csproj",
			"vendor/**"}},
		{RiskInfra, []string{".github/workflows/**", ".github/actions/**", ".gitlab-ci.yml", ".circleci/**", ".ci/**",
			"Jenkinsfile", ".travis.yml", "azure-pipelines.yml", ".buildkite/**", "*.tf", "*.tfvars", "*.hcl",
			"**/terraform/**", "**/k8s/**", "**/kubernetes/**", "**/helm/**", "**/charts/**", "**/deploy/**",
			"**/ansible/**", "docker-compose*.yml", "docker-compose*.yaml", "compose.yaml", "skaffold.yaml", "kustomization.yaml"}},
		{RiskBuild, []string{"Dockerfile", "Dockerfile.*", "*.dockerfile", "Containerfile", ".dockerignore",
			"Makefile", "*.mk", "GNUmakefile", "BUILD", "BUILD.bazel", "WORKSPACE", "MODULE.bazel", "*.bzl",
			"CMakeLists.txt", ".goreleaser.yml", ".goreleaser.yaml", "build.sh", "Taskfile.yml", "justfile", "Procfile"}},
		{RiskConfig, []string{"**/config/**", "**/configs/**", "**/flags/**", "*flag*.json", "*flag*.yaml", "*flag*.yml",
			"*.env", ".env", ".env.*", "config.y*ml", "config.json", "config.toml", "settings.y*ml", "settings.json", "settings.py", "application*.yml", "application*.yaml",
			"application*.properties", "*.ini", "*.conf"}},
	}
}

// RiskRulesFromConfig reads the `risk` key of .lkg.yaml: a map from
// category to a list of patterns. A default category named there gets
// exactly those patterns (an empty list turns it off); a new name adds a
// category; categories not named keep their defaults. v is the YAML value
// as decoded into any (nil: the defaults).
func RiskRulesFromConfig(v any) ([]RiskRule, error) {
	rules := DefaultRiskRules()
	if v == nil {
		return rules, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("reading risk categories: want a map of category to patterns, got %T", v)
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		var pats []string
		switch list := m[name].(type) {
		case nil:
		case string:
			pats = []string{list}
		case []any:
			for _, p := range list {
				s, ok := p.(string)
				if !ok {
					return nil, fmt.Errorf("reading risk category %q: pattern %v is not a string", name, p)
				}
				pats = append(pats, s)
			}
		default:
			return nil, fmt.Errorf("reading risk category %q: want a list of patterns, got %T", name, list)
		}
		for _, p := range pats {
			if _, err := path.Match(strings.ReplaceAll(p, "**", "x"), ""); err != nil {
				return nil, fmt.Errorf("reading risk category %q: pattern %q: %w", name, p, err)
			}
		}
		replaced := false
		for i := range rules {
			if rules[i].Category == name {
				rules[i].Patterns, replaced = pats, true
			}
		}
		if !replaced {
			rules = append(rules, RiskRule{Category: name, Patterns: pats})
		}
	}
	return rules, nil
}

// suspectsRiskMatcher answers which categories a path falls in.
type suspectsRiskMatcher struct {
	rules []RiskRule
}

func (rm suspectsRiskMatcher) categories(p string) []string {
	var out []string
	for _, r := range rm.rules {
		for _, pat := range r.Patterns {
			if suspectsGlob(pat, p) {
				out = append(out, r.Category)
				break
			}
		}
	}
	return out
}

// suspectsGlob matches p against pattern with RiskRule's rules.
func suspectsGlob(pattern, p string) bool {
	if !strings.Contains(pattern, "/") {
		ok, _ := path.Match(pattern, path.Base(p))
		return ok
	}
	return suspectsGlobParts(strings.Split(pattern, "/"), strings.Split(p, "/"))
}

func suspectsGlobParts(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(parts) > 0
			}
			for i := 0; i <= len(parts); i++ {
				if suspectsGlobParts(rest, parts[i:]) {
					return true
				}
			}
			return false
		}
		if len(parts) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], parts[0]); !ok {
			return false
		}
		pat, parts = pat[1:], parts[1:]
	}
	return len(parts) == 0
}
