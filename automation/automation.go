package automation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The tools a Finding names.
const (
	Flux       = "flux"
	ArgoCD     = "argocd-image-updater"
	Renovate   = "renovate"
	Dependabot = "dependabot"
	Kustomize  = "kustomize"
)

// Finding is one piece of automation that could undo a redeploy.
type Finding struct {
	Tool  string `json:"tool"`  // Flux, ArgoCD, Renovate, Dependabot or Kustomize
	File  string `json:"file"`  // slash-separated, relative to the scanned root
	What  string `json:"what"`  // what it is, in words
	Pause string `json:"pause"` // the command or edit that pauses it
}

// String is the finding as one warning line.
func (f Finding) String() string {
	return fmt.Sprintf("%s in %s may re-point the tag after the deploy; pause it: %s", f.What, f.File, f.Pause)
}

// Limits on what Scan reads: the files are the repository's, so untrusted.
const (
	maxFileSize = 1 << 20
	maxFiles    = 20000
)

// skipDirs are never walked.
var skipDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, ".terraform": true}

// renovateFiles are where Renovate looks for its settings.
var renovateFiles = []string{"renovate.json", "renovate.json5", ".renovaterc", ".renovaterc.json", ".github/renovate.json", ".github/renovate.json5", ".gitlab/renovate.json"}

// renovateDockerManagers are Renovate managers that update image tags.
var renovateDockerManagers = []string{"dockerfile", "docker-compose", "kubernetes", "kustomize", "helm-values", "helmv3", "flux", "argocd", "custom.regex", "regex"}

// Scan looks under root (a work tree) for automation that updates any of
// repos ("host/path" image repositories, the targets' repositories).
// Findings come in file order. A file that cannot be parsed is skipped:
// a warning must never stop a redeploy.
func Scan(root string, repos []string) ([]Finding, error) {
	var docs []doc
	var files []string
	count := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: skipped
		}
		if d.IsDir() {
			if p != root && skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if count++; count > maxFiles {
			return errStop
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		files = append(files, rel)
		if ext := path.Ext(rel); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		data, ok := readSmall(p)
		if !ok {
			return nil
		}
		docs = append(docs, parseYAML(rel, data)...)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	var out []Finding
	out = append(out, flux(docs, repos)...)
	out = append(out, argo(docs, repos)...)
	out = append(out, kustomize(docs, repos)...)
	out = append(out, dependabot(docs)...)
	out = append(out, renovate(root, files, repos)...)
	slices.SortStableFunc(out, func(a, b Finding) int { return strings.Compare(a.File, b.File) })
	return out, nil
}

var errStop = errors.New("too many files")

func readSmall(p string) ([]byte, bool) {
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxFileSize {
		return nil, false
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	return b, err == nil && len(b) <= maxFileSize
}

// doc is one YAML document of one file.
type doc struct {
	file string
	m    map[string]any
}

func parseYAML(file string, data []byte) []doc {
	var out []doc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for range 1000 {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			break
		}
		if m != nil {
			out = append(out, doc{file: file, m: m})
		}
	}
	return out
}

// str follows keys through nested maps to a string.
func str(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

func kind(d doc, group string) string {
	if !strings.HasPrefix(str(d.m, "apiVersion"), group) {
		return ""
	}
	return str(d.m, "kind")
}

// names says s names one of repos: the whole "host/path", or the path
// when s has no host of its own.
func names(s string, repos []string) bool {
	s = strings.TrimSpace(s)
	for _, r := range repos {
		_, p, _ := strings.Cut(r, "/")
		for _, cand := range []string{r, p} {
			if cand == "" {
				continue
			}
			if s == cand || strings.HasPrefix(s, cand+":") || strings.HasPrefix(s, cand+"@") ||
				strings.Contains(s, "="+cand) || strings.Contains(s, " "+cand) || strings.Contains(s, ","+cand) {
				return true
			}
		}
	}
	return false
}

func namespaced(d doc, dflt string) (name, ns string) {
	name, ns = str(d.m, "metadata", "name"), str(d.m, "metadata", "namespace")
	if ns == "" {
		ns = dflt
	}
	return name, ns
}

// flux: ImageRepositories naming a target, the ImagePolicies over them,
// and every ImageUpdateAutomation (which writes what the policies pick).
func flux(docs []doc, repos []string) []Finding {
	const group = "image.toolkit.fluxcd.io/"
	imageRepos := map[string]bool{}
	for _, d := range docs {
		if kind(d, group) == "ImageRepository" && names(str(d.m, "spec", "image"), repos) {
			name, _ := namespaced(d, "flux-system")
			imageRepos[name] = true
		}
	}
	if len(imageRepos) == 0 {
		return nil
	}
	var out []Finding
	for _, d := range docs {
		name, ns := namespaced(d, "flux-system")
		switch kind(d, group) {
		case "ImagePolicy":
			if imageRepos[str(d.m, "spec", "imageRepositoryRef", "name")] {
				out = append(out, Finding{Tool: Flux, File: d.file,
					What:  fmt.Sprintf("Flux ImagePolicy %s/%s", ns, name),
					Pause: fmt.Sprintf("flux suspend image repository %s -n %s", str(d.m, "spec", "imageRepositoryRef", "name"), ns)})
			}
		case "ImageUpdateAutomation":
			out = append(out, Finding{Tool: Flux, File: d.file,
				What:  fmt.Sprintf("Flux ImageUpdateAutomation %s/%s", ns, name),
				Pause: fmt.Sprintf("flux suspend image update %s -n %s", name, ns)})
		}
	}
	return out
}

// argo: objects (Applications) whose Image Updater image-list names a
// target.
func argo(docs []doc, repos []string) []Finding {
	const key = "argocd-image-updater.argoproj.io/image-list"
	var out []Finding
	for _, d := range docs {
		list := str(d.m, "metadata", "annotations", key)
		if list == "" || !names(list, repos) {
			continue
		}
		name, ns := namespaced(d, "argocd")
		k := strings.ToLower(str(d.m, "kind"))
		if k == "" {
			k = "application"
		}
		out = append(out, Finding{Tool: ArgoCD, File: d.file,
			What:  fmt.Sprintf("Argo CD Image Updater on %s %s/%s", k, ns, name),
			Pause: fmt.Sprintf("kubectl -n %s annotate %s %s %s-", ns, k, name, key)})
	}
	return out
}

// kustomize: images: entries in a kustomization naming a target.
func kustomize(docs []doc, repos []string) []Finding {
	var out []Finding
	for _, d := range docs {
		base := path.Base(d.file)
		if base != "kustomization.yaml" && base != "kustomization.yml" && str(d.m, "kind") != "Kustomization" {
			continue
		}
		images, _ := d.m["images"].([]any)
		for _, im := range images {
			e, _ := im.(map[string]any)
			if e == nil {
				continue
			}
			name, newName := str(e, "name"), str(e, "newName")
			if !names(name, repos) && !names(newName, repos) {
				continue
			}
			pin := str(e, "digest")
			if pin == "" {
				pin = str(e, "newTag")
			}
			out = append(out, Finding{Tool: Kustomize, File: d.file,
				What:  fmt.Sprintf("kustomize images: entry %s (at %s)", name, orLatest(pin)),
				Pause: fmt.Sprintf("set its digest in %s to the deployed one, or pause the sync that applies it", d.file)})
		}
	}
	return out
}

func orLatest(s string) string {
	if s == "" {
		return "the tag in the manifests"
	}
	return s
}

// dependabot: docker entries of .github/dependabot.yml.
func dependabot(docs []doc) []Finding {
	var out []Finding
	for _, d := range docs {
		if d.file != ".github/dependabot.yml" && d.file != ".github/dependabot.yaml" {
			continue
		}
		updates, _ := d.m["updates"].([]any)
		for _, u := range updates {
			e, _ := u.(map[string]any)
			if e == nil || str(e, "package-ecosystem") != "docker" {
				continue
			}
			dir := str(e, "directory")
			out = append(out, Finding{Tool: Dependabot, File: d.file,
				What:  fmt.Sprintf("Dependabot docker updates for %s", orRoot(dir)),
				Pause: fmt.Sprintf("set open-pull-requests-limit: 0 on that entry of %s, and close its open pull requests", d.file)})
		}
	}
	return out
}

func orRoot(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}

// renovate: a Renovate config whose enabled managers include one that
// updates images (all do when enabledManagers is not set).
func renovate(root string, files []string, repos []string) []Finding {
	var out []Finding
	for _, f := range renovateFiles {
		if !slices.Contains(files, f) {
			continue
		}
		data, ok := readSmall(filepath.Join(root, filepath.FromSlash(f)))
		if !ok {
			continue
		}
		var cfg struct {
			EnabledManagers []string `json:"enabledManagers"`
			Enabled         *bool    `json:"enabled"`
		}
		if path.Ext(f) != ".json5" && json.Unmarshal(data, &cfg) != nil {
			continue
		}
		if cfg.Enabled != nil && !*cfg.Enabled {
			continue
		}
		if len(cfg.EnabledManagers) > 0 && !slices.ContainsFunc(cfg.EnabledManagers, func(m string) bool {
			return slices.Contains(renovateDockerManagers, m)
		}) {
			continue
		}
		dep := "the image"
		if len(repos) > 0 {
			dep = repos[0]
		}
		out = append(out, Finding{Tool: Renovate, File: f,
			What:  "Renovate docker updates",
			Pause: fmt.Sprintf(`add "ignoreDeps": [%q] to %s, and close its open pull requests`, dep, f)})
	}
	return out
}
