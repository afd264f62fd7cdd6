package suspects

import (
	"path"
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

// riskMatcher answers which categories a path falls in.
type riskMatcher struct {
	rules []RiskRule
}

func (rm riskMatcher) categories(p string) []string {
	var out []string
	for _, r := range rm.rules {
		for _, pat := range r.Patterns {
			if glob(pat, p) {
				out = append(out, r.Category)
				break
			}
		}
	}
	return out
}

// glob matches p against pattern with RiskRule's rules.
func glob(pattern, p string) bool {
	if !strings.Contains(pattern, "/") {
		ok, _ := path.Match(pattern, path.Base(p))
		return ok
	}
	return globParts(strings.Split(pattern, "/"), strings.Split(p, "/"))
}

func globParts(pat, parts []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			if len(rest) == 0 {
				return len(parts) > 0
			}
			for i := 0; i <= len(parts); i++ {
				if globParts(rest, parts[i:]) {
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
