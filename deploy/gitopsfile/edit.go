package gitopsfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/lkg-dev/lkg/internal/imageref"
	"go.yaml.in/yaml/v3"
)

// ErrNoImage: the file does not name the image where lkg knows to pin it.
var ErrNoImage = errors.New("the file does not name the image")

// Kinds of place a file pins an image.
const (
	KindKustomization = "kustomization images:"
	KindHelm          = "Helm values image:"
	KindManifest      = "manifest image:"
)

// site is where a file pins image: the scalar to rewrite, or, when the
// place has no digest key yet, the key to add one after.
type site struct {
	kind    string
	current string     // the image as the file names it now: "repo:tag", "repo@sha256:..."
	value   *yaml.Node // the scalar to rewrite (nil: add a digest key)
	after   *yaml.Node // add "digest: ..." on the line after this key, at its indentation
	full    bool       // value holds the whole reference (a manifest's image:), not the digest alone
}

// Pinned is the image as the file names it ("" and ErrNoImage when it
// does not), and the kind of place.
func Pinned(src []byte, image string) (current, kind string, err error) {
	s, err := find(src, image)
	if err != nil {
		return "", "", err
	}
	return s.current, s.kind, nil
}

// Pin writes digest for image into src, changing only the bytes of that
// one value (or adding one digest line), so formatting and comments stay
// as they were. It returns the new file and the image as the file named it
// before. With restore set, the manifest's image: is written as restore
// exactly (an undo puts the old text back); elsewhere the digest alone.
func Pin(src []byte, image, digest, restore string) (out []byte, previous string, err error) {
	s, err := find(src, image)
	if err != nil {
		return nil, "", err
	}
	text := digest
	if s.full {
		text = image + "@" + digest
		if restore != "" {
			text = restore
		}
	}
	if s.value == nil {
		at, err := lineEnd(src, s.after.Line)
		if err != nil {
			return nil, "", err
		}
		line := "\n" + strings.Repeat(" ", s.after.Column-1) + "digest: " + text
		return splice(src, at, at, line), s.current, nil
	}
	start, end, err := span(src, s.value)
	if err != nil {
		return nil, "", err
	}
	switch s.value.Style {
	case yaml.DoubleQuotedStyle:
		text = `"` + text + `"`
	case yaml.SingleQuotedStyle:
		text = "'" + text + "'"
	}
	return splice(src, start, end, text), s.current, nil
}

func splice(src []byte, start, end int, text string) []byte {
	out := make([]byte, 0, len(src)+len(text))
	out = append(out, src[:start]...)
	out = append(out, text...)
	return append(out, src[end:]...)
}

// find looks in every document of src for image: a kustomization's
// images: entry named image, a Helm values block whose repository: is
// image, or an image: field naming image (the first of these kinds that
// the file has).
func find(src []byte, image string) (*site, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("reading the YAML: %w", err)
		}
		docs = append(docs, &doc)
	}
	for _, look := range []func(*yaml.Node, string) *site{kustomization, helm, manifest} {
		for _, doc := range docs {
			if s := look(doc, image); s != nil {
				return s, nil
			}
		}
	}
	return nil, fmt.Errorf("%w %s (no kustomization images: entry, Helm values repository: or image: field names it)", ErrNoImage, image)
}

// get is the value of key in mapping m, and the key node.
func get(m *yaml.Node, key string) (k, v *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

func root(doc *yaml.Node) *yaml.Node {
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return doc
}

// kustomization: images: [{name: IMAGE, newName?, newTag?, digest?}].
func kustomization(doc *yaml.Node, image string) *site {
	_, images := get(root(doc), "images")
	if images == nil || images.Kind != yaml.SequenceNode {
		return nil
	}
	for _, e := range images.Content {
		nameKey, name := get(e, "name")
		if name == nil || name.Value != image || e.Style == yaml.FlowStyle {
			continue
		}
		cur := image
		if _, nn := get(e, "newName"); nn != nil && nn.Value != "" {
			cur = nn.Value
		}
		if _, tag := get(e, "newTag"); tag != nil && tag.Value != "" {
			cur += ":" + tag.Value
		}
		_, dg := get(e, "digest")
		if dg != nil && dg.Value != "" {
			cur += "@" + dg.Value
		}
		return &site{kind: KindKustomization, current: cur, value: dg, after: nameKey}
	}
	return nil
}

// helm: a mapping with repository: IMAGE beside tag: and/or digest:, at
// any depth (image:, or a subchart's api.image:).
func helm(n *yaml.Node, image string) *site {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if s := helm(c, image); s != nil {
				return s
			}
		}
	case yaml.MappingNode:
		if repoKey, repo := get(n, "repository"); repo != nil && repo.Value == image && n.Style != yaml.FlowStyle {
			cur := image
			if _, tag := get(n, "tag"); tag != nil && tag.Value != "" {
				cur += ":" + tag.Value
			}
			_, dg := get(n, "digest")
			if dg != nil && dg.Value != "" {
				cur += "@" + dg.Value
			}
			return &site{kind: KindHelm, current: cur, value: dg, after: repoKey}
		}
		for i := 1; i < len(n.Content); i += 2 {
			if s := helm(n.Content[i], image); s != nil {
				return s
			}
		}
	}
	return nil
}

// manifest: image: IMAGE[:tag][@digest] anywhere (a Deployment's
// containers, a compose file's services).
func manifest(n *yaml.Node, image string) *site {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if s := manifest(c, image); s != nil {
				return s
			}
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "image" && v.Kind == yaml.ScalarNode {
				if ref, err := imageref.Parse(v.Value); err == nil && ref.Repo() == image {
					return &site{kind: KindManifest, current: v.Value, value: v, full: true}
				}
			}
			if s := manifest(v, image); s != nil {
				return s
			}
		}
	}
	return nil
}

// offset is the byte offset of 1-based line and column (in characters).
func offset(src []byte, line, col int) (int, error) {
	off := 0
	for l := 1; l < line; l++ {
		i := bytes.IndexByte(src[off:], '\n')
		if i < 0 {
			return 0, fmt.Errorf("line %d is past the end of the file", line)
		}
		off += i + 1
	}
	for c := 1; c < col; c++ {
		if off >= len(src) || src[off] == '\n' {
			return 0, fmt.Errorf("column %d is past the end of line %d", col, line)
		}
		_, size := utf8.DecodeRune(src[off:])
		off += size
	}
	return off, nil
}

// lineEnd is the offset of the end of line (before its newline).
func lineEnd(src []byte, line int) (int, error) {
	off, err := offset(src, line, 1)
	if err != nil {
		return 0, err
	}
	if i := bytes.IndexByte(src[off:], '\n'); i >= 0 {
		return off + i, nil
	}
	return len(src), nil
}

// span is where scalar n's text is in src, quotes included. Only
// one-line scalars are rewritten: an image or a digest is one word.
func span(src []byte, n *yaml.Node) (int, int, error) {
	start, err := offset(src, n.Line, n.Column)
	if err != nil {
		return 0, 0, err
	}
	var end int
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := src[start]
		i := bytes.IndexByte(src[start+1:], q)
		if i < 0 {
			return 0, 0, fmt.Errorf("line %d: unterminated quoted value", n.Line)
		}
		end = start + 1 + i + 1
	case 0:
		end = start + len(n.Value)
	default:
		return 0, 0, fmt.Errorf("line %d: the value is a block scalar; lkg rewrites one-line values only", n.Line)
	}
	if end > len(src) || (n.Style == 0 && string(src[start:end]) != n.Value) {
		return 0, 0, fmt.Errorf("line %d: the value is not written on one line as %q", n.Line, n.Value)
	}
	return start, end, nil
}
