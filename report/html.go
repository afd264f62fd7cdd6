package report

import (
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"

	"github.com/lkg-dev/lkg/journal"
)

// WriteHTML writes the incident up as one self-contained HTML page: the
// Markdown report's sections, with the timeline drawn as inline SVG. The
// page loads nothing (no script, stylesheet, font or image from anywhere;
// its Content-Security-Policy says so to the browser), so it opens the
// same from a mail attachment, a ticket or a laptop on a plane.
func WriteHTML(w io.Writer, in journal.Incident) error {
	d := build(in)
	picture, err := svgOf(d.timeline)
	if err != nil {
		return err
	}
	page := htmlPage{Title: d.title.plain(), Heading: htmlSpans(d.title), Facts: htmlItems(d.facts)}
	for _, s := range d.sections {
		hs := htmlSection{Heading: s.heading}
		for _, b := range s.blocks {
			var hb htmlBlock
			switch {
			case b.picture:
				hb.Picture = picture
			case b.table != nil:
				hb.Table = &htmlTable{Header: b.table.header}
				for _, row := range b.table.rows {
					cells := make([][]htmlSpan, len(row))
					for i, c := range row {
						cells[i] = htmlSpans(c)
						if len(c) == 0 {
							cells[i] = []htmlSpan{{Text: "-"}}
						}
					}
					hb.Table.Rows = append(hb.Table.Rows, cells)
				}
			case b.list != nil:
				hb.List = htmlItems(b.list)
			default:
				for _, l := range b.lines {
					hb.Lines = append(hb.Lines, htmlSpans(l))
				}
			}
			hs.Blocks = append(hs.Blocks, hb)
		}
		page.Sections = append(page.Sections, hs)
	}
	return pageTemplate.Execute(w, page)
}

// The page as the template sees it: the document with exported fields.
type (
	htmlPage struct {
		Title    string
		Heading  []htmlSpan
		Facts    []htmlItem
		Sections []htmlSection
	}
	htmlSection struct {
		Heading string
		Blocks  []htmlBlock
	}
	htmlBlock struct {
		Lines   [][]htmlSpan
		List    []htmlItem
		Table   *htmlTable
		Picture template.HTML
	}
	htmlItem struct {
		Label string
		Text  []htmlSpan
		Sub   []htmlItem
	}
	htmlTable struct {
		Header []string
		Rows   [][][]htmlSpan
	}
	htmlSpan struct {
		Text string
		Code bool
	}
)

func htmlSpans(l inline) []htmlSpan {
	out := make([]htmlSpan, len(l))
	for i, s := range l {
		out[i] = htmlSpan{Text: oneLine(s.text), Code: s.code}
	}
	return out
}

func htmlItems(items []item) []htmlItem {
	out := make([]htmlItem, len(items))
	for i, it := range items {
		out[i] = htmlItem{Label: it.label, Text: htmlSpans(it.text), Sub: htmlItems(it.sub)}
	}
	return out
}

var pageTemplate = template.Must(template.New("page").Parse(`{{define "spans"}}{{range .}}{{if .Code}}<code>{{.Text}}</code>{{else}}{{.Text}}{{end}}{{end}}{{end}}
{{- define "list"}}<ul>
{{range .}}<li>{{if .Label}}<strong>{{.Label}}:</strong> {{end}}{{template "spans" .Text}}{{if .Sub}}
{{template "list" .Sub}}{{end}}</li>
{{end}}</ul>{{end -}}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="lkg report">
<title>{{.Title}}</title>
<style>
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2933; margin: 2rem auto; max-width: 72rem; padding: 0 1.5rem; }
h1 { font-size: 1.6rem; margin-bottom: .5rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #d9e2ec; padding-bottom: .2rem; }
code { font: .85em/1.4 "DejaVu Sans Mono", Menlo, Consolas, monospace; background: #f0f4f8; padding: .05em .3em; border-radius: 3px; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: .9rem; margin: 1rem 0; }
th, td { border: 1px solid #d9e2ec; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f0f4f8; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0; }
svg.timeline { max-width: 960px; height: auto; display: block; }
footer { margin-top: 3rem; color: #7b8794; font-size: .85rem; }
</style>
</head>
<body>
<h1>{{template "spans" .Heading}}</h1>
{{template "list" .Facts}}
{{range .Sections}}<h2>{{.Heading}}</h2>
{{range .Blocks}}{{if .Picture}}<figure>
{{.Picture}}
</figure>
{{else if .Table}}<div class="scroll"><table>
<thead><tr>{{range .Table.Header}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{range .Table.Rows}}<tr>{{range .}}<td>{{template "spans" .}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{else if .List}}{{template "list" .List}}
{{else}}<p>{{range $i, $l := .Lines}}{{if $i}}<br>
{{end}}{{template "spans" $l}}{{end}}</p>
{{end}}{{end}}{{end}}<footer>Written by lkg report from the incident journal. Times are UTC.</footer>
</body>
</html>
`))

// WriteHTMLFile writes WriteHTML's page to path, whole or not at all: it
// is written beside path under a temporary name, then renamed over it.
func WriteHTMLFile(path string, in journal.Incident) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".lkg-report-*.html")
	if err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	defer os.Remove(f.Name()) // after the rename, there is nothing to remove
	if err := WriteHTML(f, in); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %q: %w", path, err)
	}
	return nil
}
