package cli

import (
	"errors"
	"github.com/lkg-dev/lkg/internal/errs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/alecthomas/kong"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/suspects"
)

// loadConfig reads .lkg.yaml at the root of the repository containing dir.
// A missing file is an empty config; one lkg will not use is a usage error.
func loadConfig(dir string) (*config.Config, error) {
	cfg, err := config.Load(dir)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		return nil, &errs.Error{Err: err, Code: exitUsage}
	}
	return cfg, err
}

// Config is the repository's .lkg.yaml, loaded on first use.
func (g *Globals) Config() (*config.Config, error) {
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
		v, ok := g.config.Lookup(key)
		if !ok {
			return nil, nil
		}
		return flagValue(v), nil
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

// flagValue turns a config value into what kong's mappers accept. Lists
// stay lists, so an element may hold a comma (a tag pattern's {7,40})
// without being split.
func flagValue(v any) any {
	switch v := v.(type) {
	case []string:
		parts := make([]any, len(v))
		for i, e := range v {
			parts[i] = e
		}
		return parts
	case int:
		return strconv.Itoa(v)
	default:
		return v
	}
}

// riskRules are suspects' risk rules: the defaults, changed by the risk
// section of .lkg.yaml. A category named there gets exactly its patterns
// (an empty list turns it off); a new name adds a category.
func riskRules(cfg *config.Config) []suspects.RiskRule {
	rules := suspects.DefaultRiskRules()
	cats := slices.Clone(cfg.Risk)
	// New categories follow the defaults in name order, whatever the file's.
	slices.SortStableFunc(cats, func(a, b config.RiskCategory) int { return strings.Compare(a.Name, b.Name) })
	for _, cat := range cats {
		replaced := false
		for i := range rules {
			if rules[i].Category == cat.Name {
				rules[i].Patterns, replaced = cat.Patterns, true
			}
		}
		if !replaced {
			rules = append(rules, suspects.RiskRule{Category: cat.Name, Patterns: cat.Patterns})
		}
	}
	return rules
}
