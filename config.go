package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/alecthomas/kong"
	"go.yaml.in/yaml/v3"
)

// configFile is read from the repository root (for a bare repo, its directory).
const configFile = ".lkg.yaml"

// config is the parsed .lkg.yaml: flag values keyed by their snake_case
// names (the `config` tag on a flag), plus sections commands read themselves.
type config struct {
	path   string
	values map[string]any
}

// Section returns a top-level key's raw value, for commands whose settings
// are richer than a flag (suspects' risk categories).
func (c *config) Section(key string) (any, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := c.values[key]
	return v, ok
}

// loadConfig reads .lkg.yaml at the root of the repository containing dir.
// A missing file is an empty config; a malformed one is a usage error.
func loadConfig(dir string) (*config, error) {
	root := repoRoot(dir)
	path := filepath.Join(root, configFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &config{path: path}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	values := map[string]any{}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, usagef("reading %s: %v. Fix the YAML or move the file aside", path, err)
	}
	return &config{path: path, values: values}, nil
}

// repoRoot walks up from dir to the directory holding .git, or to a bare
// repository. With neither, dir itself: opening the repo will then say what
// is wrong, more clearly than the config loader could.
func repoRoot(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	for d := abs; ; {
		if _, err := os.Stat(filepath.Join(d, ".git")); err == nil {
			return d
		}
		if isBareRepo(d) {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return abs
		}
		d = parent
	}
}

func isBareRepo(dir string) bool {
	for _, name := range []string{"HEAD", "objects", "refs"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return false
		}
	}
	return true
}

// Config is the repository's .lkg.yaml, loaded on first use.
func (g *Globals) Config() (*config, error) {
	if g.config == nil {
		cfg, err := loadConfig(g.Dir)
		if err != nil {
			return nil, err
		}
		g.config = cfg
	}
	return g.config, nil
}

// configResolver feeds .lkg.yaml values to flags not given on the command
// line. A flag's LKG_* environment variable wins over the file, so the file
// is consulted only when that variable is unset.
func configResolver(g *Globals) kong.Resolver {
	return kong.ResolverFunc(func(kctx *kong.Context, parent *kong.Path, flag *kong.Flag) (any, error) {
		key := flag.Tag.Get("config")
		if key == "" {
			return nil, nil
		}
		for _, env := range flag.Tag.Envs {
			if _, ok := os.LookupEnv(env); ok {
				return nil, nil
			}
		}
		if g.config == nil {
			if g.configErr != nil {
				return nil, nil
			}
			cfg, err := loadConfig(dirFlag(kctx, g))
			if err != nil {
				// Reported by run after parsing, as itself rather than
				// as a problem with whichever flag asked first.
				g.configErr = err
				return nil, nil
			}
			g.config = cfg
		}
		v, ok := g.config.values[key]
		if !ok || v == nil {
			return nil, nil
		}
		return configValue(v), nil
	})
}

// dirFlag is -C as given on the command line or in LKG_DIR. Resolvers run
// before values are applied, so it is read from the parse trace.
func dirFlag(kctx *kong.Context, g *Globals) string {
	for _, f := range kctx.Flags() {
		if f.Name == "dir" {
			if v, ok := kctx.FlagValue(f).(string); ok && v != "" {
				return v
			}
		}
	}
	if g.Dir != "" {
		return g.Dir
	}
	return "."
}

// configValue turns a YAML value into what kong's mappers accept. Lists
// stay lists of strings, so an element may hold a comma (a tag pattern's
// {7,40}) without being split.
func configValue(v any) any {
	switch v := v.(type) {
	case []any:
		parts := make([]any, 0, len(v))
		for _, e := range v {
			parts = append(parts, fmt.Sprint(e))
		}
		return parts
	case int:
		return strconv.Itoa(v)
	case bool, string:
		return v
	default:
		return fmt.Sprint(v)
	}
}
