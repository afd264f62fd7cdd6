package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
)

// Reference is the command reference as Markdown pages, generated from the
// Kong command tree itself (flags, defaults, environment variables,
// .lkg.yaml keys, help text), so it cannot drift from --help: file name
// ("lkg.md", "lkg_deploy.md", ...) to content. docs/reference/ holds them;
// a test fails when they are stale, and regenerates them with the golden
// switch (go test ./cli -run TestReference -update).
func Reference() (map[string]string, error) {
	var c CLI
	parser, err := kong.New(&c,
		kong.Name("lkg"),
		kong.Description(description),
		kong.Vars{"version": "lkg"},
	)
	if err != nil {
		return nil, err
	}
	app := parser.Model
	pages := map[string]string{"lkg.md": indexPage(app)}
	for _, n := range app.Children {
		if n.Hidden {
			continue
		}
		pages["lkg_"+n.Name+".md"] = commandPage(n)
	}
	return pages, nil
}

// WriteReference writes Reference's pages into dir, removing pages of
// commands that no longer exist.
func WriteReference(dir string) error {
	pages, err := Reference()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, "lkg*.md"))
	for _, p := range old {
		if _, ok := pages[filepath.Base(p)]; !ok {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	for name, content := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

const generated = "<!-- Generated from lkg's command definitions by `go test ./cli -run TestReference -update`. Do not edit. -->\n\n"

func indexPage(app *kong.Application) string {
	var b strings.Builder
	b.WriteString(generated)
	b.WriteString("# lkg\n\n")
	b.WriteString(app.Help + "\n\n")
	b.WriteString("## Commands\n\n| command | what it does |\n| --- | --- |\n")
	for _, n := range app.Children {
		if !n.Hidden {
			fmt.Fprintf(&b, "| [`lkg %s`](lkg_%s.md) | %s |\n", n.Name, n.Name, cell(n.Help))
		}
	}
	b.WriteString("\n## Global flags\n\nEvery command takes these.\n\n")
	writeFlags(&b, app.Flags)
	return b.String()
}

func commandPage(n *kong.Node) string {
	var b strings.Builder
	b.WriteString(generated)
	fmt.Fprintf(&b, "# lkg %s\n\n%s\n\n", n.Name, n.Help)
	fmt.Fprintf(&b, "```\nlkg %s%s\n```\n\n", n.Name, usage(n))
	if n.Detail != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(n.Detail))
	}
	if len(n.Positional) > 0 {
		b.WriteString("## Arguments\n\n| argument | meaning |\n| --- | --- |\n")
		for _, p := range n.Positional {
			fmt.Fprintf(&b, "| `%s` | %s |\n", p.Summary(), cell(p.Help))
		}
		b.WriteString("\n")
	}
	if len(visible(n.Flags)) > 0 {
		b.WriteString("## Flags\n\n")
		writeFlags(&b, n.Flags)
	}
	b.WriteString("Global flags: see [lkg](lkg.md#global-flags).\n")
	return b.String()
}

// usage is the command's arguments after its name, as --help prints them.
func usage(n *kong.Node) string {
	var parts []string
	for _, p := range n.Positional {
		parts = append(parts, p.Summary())
	}
	for _, f := range visible(n.Flags) {
		if f.Required {
			parts = append(parts, flagSyntax(f))
		}
	}
	if len(visible(n.Flags)) > len(parts)-len(n.Positional) {
		parts = append(parts, "[flags]")
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

func visible(flags []*kong.Flag) []*kong.Flag {
	var out []*kong.Flag
	for _, f := range flags {
		if !f.Hidden && f.Name != "help" {
			out = append(out, f)
		}
	}
	return out
}

func writeFlags(b *strings.Builder, flags []*kong.Flag) {
	b.WriteString("| flag | default | environment | `.lkg.yaml` | meaning |\n| --- | --- | --- | --- | --- |\n")
	fs := visible(flags)
	slices.SortStableFunc(fs, func(x, y *kong.Flag) int { return strings.Compare(x.Name, y.Name) })
	for _, f := range fs {
		def := ""
		if f.HasDefault && f.Default != "" {
			def = "`" + f.Default + "`"
		}
		envs := make([]string, len(f.Envs))
		for i, e := range f.Envs {
			envs[i] = "`" + e + "`"
		}
		key := ""
		if k := f.Tag.Get("config"); k != "" {
			key = "`" + k + "`"
		}
		name := "`" + flagSyntax(f) + "`"
		if len(f.Aliases) > 0 {
			name += " (or `--" + strings.Join(f.Aliases, "`, `--") + "`)"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", name, def, strings.Join(envs, ", "), key, cell(f.Help))
	}
	b.WriteString("\n")
}

func flagSyntax(f *kong.Flag) string {
	s := "--" + f.Name
	if f.Short != 0 {
		s = fmt.Sprintf("-%c, %s", f.Short, s)
	}
	if !f.IsBool() && !f.IsCounter() {
		s += " " + f.FormatPlaceHolder()
	}
	return s
}

// cell is text fit for a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}
