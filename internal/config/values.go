package config

import (
	"cmp"
	"fmt"
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// valueError is a value of the wrong kind; line, when set, is the line of
// the offending element rather than of the key's value.
type valueError struct {
	line int
	msg  string
	// risk marks an error in the risk section, about category ("" for
	// the section as a whole).
	risk     bool
	category string
}

func (e *valueError) Error() string { return e.msg }

func wrongValue(n *yaml.Node, format string, args ...any) error {
	return &valueError{line: n.Line, msg: fmt.Sprintf(format, args...)}
}

// resolve follows an alias to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func decodeString(dst *string, n *yaml.Node) error {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode {
		return wrongValue(n, "want a string. Write it like: to: registry.example.com/app:prod")
	}
	*dst = n.Value
	return nil
}

func decodeBool(dst **bool, n *yaml.Node) error {
	n = resolve(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		return wrongValue(n, "want true or false, not %q. Write it like: docker: true", n.Value)
	}
	*dst = &b
	return nil
}

func decodeDepth(dst **int, n *yaml.Node) error {
	n = resolve(n)
	i, err := strconv.Atoi(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil {
		return wrongValue(n, "want a whole number, not %q. Write it like: depth: 5", n.Value)
	}
	if i < 1 {
		return wrongValue(n, "want at least 1, not %d. Write it like: depth: 5", i)
	}
	*dst = &i
	return nil
}

// decodeList takes a list of strings, or one string as a list of one. The
// elements are kept whole: a comma in one (a pattern's {7,40}) is no
// separator.
func decodeList(dst *[]string, n *yaml.Node) error {
	n = resolve(n)
	switch n.Kind {
	case yaml.ScalarNode:
		*dst = []string{n.Value}
		return nil
	case yaml.SequenceNode:
	default:
		return wrongValue(n, "want a list of strings. Write it like: [a, b]")
	}
	if len(n.Content) > MaxListLen {
		return wrongValue(n, "more than %d entries. Keep the list short, or narrow it with a pattern", MaxListLen)
	}
	list := make([]string, 0, len(n.Content))
	for _, e := range n.Content {
		e = resolve(e)
		if e.Kind != yaml.ScalarNode {
			return wrongValue(e, "want a list of strings, not a nested list or map. Write it like: [a, b]")
		}
		list = append(list, e.Value)
	}
	*dst = list
	return nil
}

// riskHint ends every error in the risk section, as suspects has always
// said it.
const riskHint = `Give each category a list of globs, like: risk: {migration: ["db/**"]}`

// riskWrong is an error in the risk section; category is "" when it is
// about the section as a whole.
func riskWrong(n *yaml.Node, category, format string, args ...any) error {
	return &valueError{line: n.Line, risk: true, category: category, msg: fmt.Sprintf(format, args...)}
}

// kindName names what a node holds, in the words suspects has always used
// (int, bool, string, map, list).
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "map"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		switch t := strings.TrimPrefix(n.Tag, "!!"); t {
		case "str":
			return "string"
		case "float":
			return "float64"
		default:
			return t
		}
	}
	return "a YAML " + n.Tag
}

// decodeRisk takes a map from category name to a list of path patterns (or
// one pattern), in the file's order, and checks each pattern's syntax.
func decodeRisk(dst *[]RiskCategory, n *yaml.Node) error {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return riskWrong(n, "", "want a map of category to patterns, got %s", kindName(n))
	}
	if len(n.Content)/2 > MaxListLen {
		return riskWrong(n, "", "more than %d categories", MaxListLen)
	}
	var cats []RiskCategory
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode {
			return riskWrong(kn, "", "want a category name, got %s", kindName(kn))
		}
		name := kn.Value
		if seen[name] {
			return riskWrong(kn, name, "set twice; keep one")
		}
		seen[name] = true
		pats := []string{}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		case v.Kind == yaml.ScalarNode && v.Tag == "!!str":
			pats = append(pats, v.Value)
		case v.Kind == yaml.SequenceNode:
			if len(v.Content) > MaxListLen {
				return riskWrong(v, name, "more than %d patterns", MaxListLen)
			}
			for _, e := range v.Content {
				e = resolve(e)
				if e.Kind != yaml.ScalarNode || e.Tag != "!!str" {
					return riskWrong(e, name, "pattern %s is not a string", cmp.Or(e.Value, kindName(e)))
				}
				pats = append(pats, e.Value)
			}
		default:
			return riskWrong(v, name, "want a list of patterns, got %s", kindName(v))
		}
		for _, p := range pats {
			if _, err := path.Match(strings.ReplaceAll(p, "**", "x"), ""); err != nil {
				return riskWrong(v, name, "pattern %q: %v", p, err)
			}
		}
		cats = append(cats, RiskCategory{Name: name, Patterns: pats})
	}
	*dst = cats
	return nil
}

// decodePinPattern takes a tag pattern holding {tag} once.
func decodePinPattern(dst *string, n *yaml.Node) error {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || strings.Count(n.Value, "{tag}") != 1 {
		return wrongValue(n, "want a tag holding {tag} once, not %q. Write it like: pin_pattern: lkg-keep-{tag}", n.Value)
	}
	*dst = n.Value
	return nil
}

// envKeys are the keys one environment may set.
var envKeys = []string{"context", "gitops", "to", "verify_url"}

// gitopsKeys are the keys of an environment's gitops: block, all needed.
var gitopsKeys = []string{"repo", "branch", "file", "image"}

// decodeEnvironments takes a map from environment name to its to and
// verify_url, in the file's order.
func decodeEnvironments(dst *[]Environment, n *yaml.Node) error {
	n = resolve(n)
	const like = "Write it like: environments: {staging: {to: registry.example.com/app:staging, verify_url: https://staging.example.com/health}}"
	if n.Kind != yaml.MappingNode {
		return wrongValue(n, "want a map of environment names to settings. %s", like)
	}
	if len(n.Content)/2 > MaxListLen {
		return wrongValue(n, "more than %d environments", MaxListLen)
	}
	var envs []Environment
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode || kn.Value == "" || strings.ContainsAny(kn.Value, ", ") {
			return wrongValue(kn, "want an environment name without commas or spaces. %s", like)
		}
		if seen[kn.Value] {
			return wrongValue(kn, "environment %s is set twice. Keep one", kn.Value)
		}
		seen[kn.Value] = true
		if v.Kind != yaml.MappingNode {
			return wrongValue(v, "environment %s: want a map with to and verify_url. %s", kn.Value, like)
		}
		e := Environment{Name: kn.Value}
		for j := 0; j+1 < len(v.Content); j += 2 {
			fk, fv := resolve(v.Content[j]), resolve(v.Content[j+1])
			var dst *string
			if fk.Value == "gitops" {
				g, err := decodeGitOps(kn.Value, fv)
				if err != nil {
					return err
				}
				e.GitOps = g
				continue
			}
			switch fk.Value {
			case "to":
				dst = &e.To
			case "verify_url":
				dst = &e.VerifyURL
			case "context":
				dst = &e.Context
			default:
				return wrongValue(fk, "environment %s: unknown key %q. Valid keys: %s", kn.Value, fk.Value, strings.Join(envKeys, ", "))
			}
			if fv.Kind != yaml.ScalarNode {
				return wrongValue(fv, "environment %s: %s: want a string", kn.Value, fk.Value)
			}
			*dst = fv.Value
		}
		switch {
		case e.To == "" && e.GitOps == nil:
			return wrongValue(v, "environment %s: to is missing: the image tag it runs, HOST/REPO:TAG (or a gitops: block)", kn.Value)
		case e.To != "" && e.GitOps != nil:
			return wrongValue(v, "environment %s: to and gitops both set: keep the one production follows", kn.Value)
		case e.Context != "" && !strings.HasPrefix(e.To, "k8s://"):
			// A context chooses a Kubernetes cluster; on any other target
			// it would be silently ignored.
			return wrongValue(v, "environment %s: context is for a k8s:// target, and to is %q", kn.Value, e.To)
		}
		envs = append(envs, e)
	}
	*dst = envs
	return nil
}

// decodeGitOps reads an environment's gitops: block: repo, branch, file
// and image, every one a string.
func decodeGitOps(env string, n *yaml.Node) (*GitOps, error) {
	const like = "Write it like: gitops: {repo: git@example.com:ops/config.git, branch: main, file: apps/api/kustomization.yaml, image: registry.example.com/shop/api}"
	if n.Kind != yaml.MappingNode {
		return nil, wrongValue(n, "environment %s: gitops: want a map. %s", env, like)
	}
	g := &GitOps{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), resolve(n.Content[i+1])
		var dst *string
		switch k.Value {
		case "repo":
			dst = &g.Repo
		case "branch":
			dst = &g.Branch
		case "file":
			dst = &g.File
		case "image":
			dst = &g.Image
		default:
			return nil, wrongValue(k, "environment %s: gitops: unknown key %q. Valid keys: %s", env, k.Value, strings.Join(gitopsKeys, ", "))
		}
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			return nil, wrongValue(v, "environment %s: gitops: %s: want a string", env, k.Value)
		}
		*dst = v.Value
	}
	for _, k := range []struct{ name, v string }{{"repo", g.Repo}, {"branch", g.Branch}, {"file", g.File}, {"image", g.Image}} {
		if k.v == "" {
			return nil, wrongValue(n, "environment %s: gitops: %s is missing. %s", env, k.name, like)
		}
	}
	return g, nil
}
