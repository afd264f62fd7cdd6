package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FileName is the settings file lkg reads at a repository's root.
const FileName = ".lkg.yaml"

// Limits on what a settings file may hold. The file is committed with the
// repository, so it is untrusted input.
const (
	// MaxFileSize is the largest settings file read: 1 MiB, far beyond any
	// real one.
	MaxFileSize = 1 << 20
	// MaxListLen is the most entries one list may hold (images, tag
	// patterns, one risk category's patterns...).
	MaxListLen = 1000
)

// Config is .lkg.yaml. A key the file does not set is the zero value: nil
// for a list or a pointer, "" for a string.
type Config struct {
	// Path is the file it was read from; "" when there was none.
	Path string

	Good        string   // good: the known-good commit-ish (--good)
	GoodTags    []string // good_tags: globs for known-good tags (--good-tags)
	Images      []string // images: image repositories to scan (--image)
	Remotes     []string // remotes: extra git remotes or fork URLs (--remote)
	Depth       *int     // depth: how many known-good tags to fall back through (--depth)
	Docker      *bool    // docker: also look in the local Docker engine (--docker)
	To          string   // to: the production image tag (--to)
	VerifyAll   *bool    // verify_all: read every tag's config (--verify-all)
	TagPatterns []string // tag_patterns: revision regexps for tag names (--tag-pattern)
	Keep        *int     // keep: how many known-good tags check and pin cover (--keep)
	PinPattern  string   // pin_pattern: the tag a pin gets, with {tag} for the good tag; "" means DefaultPinPattern

	// Environments are the deploy targets, in the file's order (staging
	// before prod): lkg status shows each, lkg deploy --env moves them.
	Environments []Environment

	InsecureRegistries []string // insecure_registries: registries spoken to without verifying TLS (--insecure-registry)

	// Risk is suspects' risk categories, in the file's order.
	Risk []RiskCategory

	// Trust is the trust: block; nil when the file has none.
	Trust *Trust
}

// RiskCategory is one entry of the risk section: a category and the path
// patterns that flag a file as in it. Patterns is empty (not nil) when the
// file turns a default category off with an empty list.
type RiskCategory struct {
	Name     string
	Patterns []string
}

// Environment is one entry of the environments section.
type Environment struct {
	Name      string // the key: staging, prod...
	To        string // to: its production image tag, HOST/REPO:TAG
	VerifyURL string // verify_url: its health URL, polled after a deploy; "" for none
	// Context is, for a k8s:// to:, the kubeconfig context its cluster is
	// reached by ("" for the kubeconfig's current one). It is the
	// environment's own: --kube-context applies to --to, not to it.
	Context string
	// GitOps is, instead of to:, the config repository file Argo CD or
	// Flux deploys the environment from; nil for none.
	GitOps *GitOps
}

// GitOps is an environment's gitops: block.
type GitOps struct {
	Repo   string // repo: the config repository's URL or local path
	Branch string // branch: the branch the GitOps controller follows
	File   string // file: the kustomization, Helm values or manifest that pins the image
	Image  string // image: the image as the file names it, HOST/REPO
}

// Env returns the environment called name.
func (c *Config) Env(name string) (Environment, bool) {
	if c == nil {
		return Environment{}, false
	}
	for _, e := range c.Environments {
		if e.Name == name {
			return e, true
		}
	}
	return Environment{}, false
}

// EnvNames are the configured environments' names, in the file's order.
func (c *Config) EnvNames() []string {
	if c == nil {
		return nil
	}
	names := make([]string, len(c.Environments))
	for i, e := range c.Environments {
		names[i] = e.Name
	}
	return names
}

// Nearest is the name in names closest to name (a typo, a plural), or ""
// when none is close.
func Nearest(name string, names []string) string {
	best, bestDist := "", -1
	for _, n := range names {
		if d := distance(strings.ToLower(name), strings.ToLower(n)); bestDist < 0 || d < bestDist {
			best, bestDist = n, d
		}
	}
	if best != "" && bestDist <= max(1, len(best)/3) {
		return best
	}
	return ""
}

// DefaultPinPattern is the tag lkg pin gives the best build of a good tag:
// a prefix retention rules can be told to keep.
const DefaultPinPattern = "lkg-keep-{tag}"

// PinTag is the pin tag for a good tag under pattern (DefaultPinPattern
// when ""): {tag} replaced by the good tag, with characters an image tag
// may not hold (a "/" in release/1.2) turned into "-".
func PinTag(pattern, goodTag string) string {
	if pattern == "" {
		pattern = DefaultPinPattern
	}
	t := []byte(strings.ReplaceAll(pattern, "{tag}", goodTag))
	for i, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			t[i] = '-'
		}
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return string(t)
}

// key is one top-level key of the file: its name and how its value is
// decoded into a Config.
type key struct {
	name   string
	decode func(c *Config, n *yaml.Node) error
}

// keys are every top-level key, sorted by name.
var keys = []key{
	{"depth", func(c *Config, n *yaml.Node) error { return decodeDepth(&c.Depth, n) }},
	{"docker", func(c *Config, n *yaml.Node) error { return decodeBool(&c.Docker, n) }},
	{"environments", func(c *Config, n *yaml.Node) error { return decodeEnvironments(&c.Environments, n) }},
	{"good", func(c *Config, n *yaml.Node) error { return decodeString(&c.Good, n) }},
	{"good_tags", func(c *Config, n *yaml.Node) error { return decodeList(&c.GoodTags, n) }},
	{"images", func(c *Config, n *yaml.Node) error { return decodeList(&c.Images, n) }},
	{"insecure_registries", func(c *Config, n *yaml.Node) error { return decodeList(&c.InsecureRegistries, n) }},
	{"keep", func(c *Config, n *yaml.Node) error { return decodeDepth(&c.Keep, n) }},
	{"pin_pattern", func(c *Config, n *yaml.Node) error { return decodePinPattern(&c.PinPattern, n) }},
	{"remotes", func(c *Config, n *yaml.Node) error { return decodeList(&c.Remotes, n) }},
	{"risk", func(c *Config, n *yaml.Node) error { return decodeRisk(&c.Risk, n) }},
	{"tag_patterns", func(c *Config, n *yaml.Node) error { return decodeList(&c.TagPatterns, n) }},
	{"to", func(c *Config, n *yaml.Node) error { return decodeString(&c.To, n) }},
	{"trust", func(c *Config, n *yaml.Node) error { return decodeTrust(&c.Trust, n, filepath.Dir(c.Path)) }},
	{"verify_all", func(c *Config, n *yaml.Node) error { return decodeBool(&c.VerifyAll, n) }},
}

// Keys are the names of every key a settings file may set, sorted.
func Keys() []string {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.name
	}
	return names
}

// Lookup returns the value of a flag's key (any key but risk) when the file
// sets it: a string, a []string, an int or a bool.
func (c *Config) Lookup(name string) (any, bool) {
	if c == nil {
		return nil, false
	}
	switch name {
	case "good":
		return c.Good, c.Good != ""
	case "good_tags":
		return c.GoodTags, c.GoodTags != nil
	case "images":
		return c.Images, c.Images != nil
	case "remotes":
		return c.Remotes, c.Remotes != nil
	case "depth":
		if c.Depth == nil {
			return nil, false
		}
		return *c.Depth, true
	case "docker":
		if c.Docker == nil {
			return nil, false
		}
		return *c.Docker, true
	case "to":
		return c.To, c.To != ""
	case "verify_all":
		if c.VerifyAll == nil {
			return nil, false
		}
		return *c.VerifyAll, true
	case "tag_patterns":
		return c.TagPatterns, c.TagPatterns != nil
	case "keep":
		if c.Keep == nil {
			return nil, false
		}
		return *c.Keep, true
	case "insecure_registries":
		return c.InsecureRegistries, c.InsecureRegistries != nil
	}
	return nil, false
}

// An Error is a settings file lkg will not use: not a regular file, too
// large, not YAML, an unknown key or a value of the wrong kind. Its text
// names the file, the line when known, and what to do.
type Error struct {
	Path string
	Line int // 0: the file as a whole
	Msg  string

	// risk and category: an error in the risk section, worded as
	// suspects has always worded it.
	risk     bool
	category string
}

func (e *Error) Error() string {
	if e.risk {
		what := "risk categories"
		if e.category != "" {
			what = fmt.Sprintf("risk category %q", e.category)
		}
		return fmt.Sprintf("reading %s: %s in line %d of %s. %s", what, e.Msg, e.Line, e.Path, riskHint)
	}
	if e.Line > 0 {
		return fmt.Sprintf("reading %s: line %d: %s", e.Path, e.Line, e.Msg)
	}
	return fmt.Sprintf("reading %s: %s", e.Path, e.Msg)
}

// Load reads FileName at the root of the repository containing dir (for a
// bare repository, its directory). A missing file is an empty Config; a
// file lkg will not use is an *Error; other failures to read are returned
// wrapped.
func Load(dir string) (*Config, error) {
	path := filepath.Join(RepoRoot(dir), FileName)
	data, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// readFile reads path only when it is a regular file of at most
// MaxFileSize bytes: a FIFO would block the open until some writer came,
// and a link to /dev/zero would never end.
func readFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	// Checked again on what was opened: the file may have been swapped.
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge(path)
	}
	return data, nil
}

func checkRegular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		if fi.Size() > MaxFileSize {
			return tooLarge(path)
		}
		return nil
	}
	what := "special file"
	switch {
	case m.IsDir():
		what = "directory"
	case m&fs.ModeNamedPipe != 0:
		what = "named pipe"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		what = "device"
	case m&fs.ModeSocket != 0:
		what = "socket"
	}
	return &Error{Path: path, Msg: fmt.Sprintf("not a regular file (%s). Replace it with a plain file or remove it", what)}
}

func tooLarge(path string) error {
	return &Error{Path: path, Msg: fmt.Sprintf("larger than %d MiB. Keep only lkg's settings in it", MaxFileSize>>20)}
}

// Parse decodes the contents of a settings file read from path (named in
// errors). Errors are *Error.
func Parse(path string, data []byte) (*Config, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge(path)
	}
	c := &Config{Path: path}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("%v. Fix the YAML or move the file aside", strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil // empty, or only comments
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return c, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, &Error{Path: path, Line: root.Line, Msg: "want a mapping of keys to values, like: images: [registry.example.com/app]"}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], root.Content[i+1]
		name := kn.Value
		k, ok := findKey(name)
		if !ok || kn.Kind != yaml.ScalarNode {
			return nil, &Error{Path: path, Line: kn.Line, Msg: unknownKey(name)}
		}
		if seen[name] {
			return nil, &Error{Path: path, Line: kn.Line, Msg: fmt.Sprintf("%s is set twice. Keep one", name)}
		}
		seen[name] = true
		if vn.Kind == yaml.ScalarNode && vn.Tag == "!!null" {
			continue // "key:" with no value sets nothing
		}
		if err := k.decode(c, vn); err != nil {
			line := vn.Line
			var ve *valueError
			if errors.As(err, &ve) {
				if ve.line > 0 {
					line = ve.line
				}
				if ve.risk {
					return nil, &Error{Path: path, Line: line, Msg: ve.msg, risk: true, category: ve.category}
				}
			}
			return nil, &Error{Path: path, Line: line, Msg: name + ": " + err.Error()}
		}
	}
	return c, nil
}

func findKey(name string) (key, bool) {
	i := sort.Search(len(keys), func(i int) bool { return keys[i].name >= name })
	if i < len(keys) && keys[i].name == name {
		return keys[i], true
	}
	return key{}, false
}

// unknownKey says what to write instead of name: the nearest key when one
// is close (image for images), else every key.
func unknownKey(name string) string {
	best, bestDist := "", -1
	for _, k := range keys {
		if d := distance(strings.ToLower(name), k.name); bestDist < 0 || d < bestDist {
			best, bestDist = k.name, d
		}
	}
	// Close means a typo or a plural: at most a third of the key changed.
	if bestDist <= max(1, len(best)/3) {
		return fmt.Sprintf("unknown key %q. Did you mean %s?", name, best)
	}
	return fmt.Sprintf("unknown key %q. Valid keys: %s.", name, strings.Join(Keys(), ", "))
}

// distance is the Levenshtein distance between a and b, in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
