package report

import (
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/internal/termsafe"
)

// document is the report as blocks of text, before it is Markdown or
// HTML: the report is built once and both writers render the same
// sections, so the page and the Markdown cannot drift apart.
type document struct {
	title    inline
	facts    []item // the list under the title: start, close, time to restore
	timeline Timeline
	sections []section
}

type section struct {
	heading string
	blocks  []block
}

// block is one of: a paragraph (lines), a list, a table, or the timeline
// picture.
type block struct {
	lines   []inline // a paragraph, one line each
	list    []item
	table   *table
	picture bool // the timeline as a picture: Mermaid in Markdown, SVG in HTML
}

// item is a list item: an optional bold label, its text, nested items.
type item struct {
	label string
	text  inline
	sub   []item
}

type table struct {
	header []string
	rows   [][]inline
}

// span is a run of report text, in code font or not.
type span struct {
	text string
	code bool
}

// inline is a line of report text.
type inline []span

// f formats like fmt.Sprintf, and the format's backquotes mark what is in
// code font: f("the deploy of `%s` at %s", target, clock). Only the
// format's backquotes count, never an argument's, so text from the journal
// cannot open or close a code span.
func f(format string, args ...any) inline {
	pieces := strings.Split(format, "`")
	out := make(inline, 0, len(pieces))
	for i, p := range pieces {
		n := verbs(p)
		if n > len(args) {
			n = len(args)
		}
		s := p
		if n > 0 || strings.Contains(p, "%") {
			s = fmt.Sprintf(p, args[:n]...)
		}
		args = args[n:]
		if s != "" {
			out = append(out, span{text: s, code: i%2 == 1})
		}
	}
	return out
}

// verbs counts the formatting verbs of a format piece (%% is none).
func verbs(format string) int {
	n := 0
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		n++
	}
	return n
}

// txt is one plain span.
func txt(s string) inline { return inline{{text: s}} }

// plain is the inline's text without code marks, as one safe line.
func (l inline) plain() string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s.text)
	}
	return oneLine(b.String())
}

// oneLine keeps journal text on one printable line, with any credential a
// URL in it might carry masked (the journal redacts when it writes; this
// holds for journals written by older versions too).
// White space runs become one space; a span keeps the space at its edges,
// which separates it from the next.
func oneLine(s string) string {
	t := strings.Join(strings.Fields(s), " ")
	if t == "" && s != "" {
		return " "
	}
	if t != "" && strings.TrimLeftFunc(s, unicode.IsSpace) != s {
		t = " " + t
	}
	if t != "" && strings.TrimRightFunc(s, unicode.IsSpace) != s {
		t += " "
	}
	return termsafe.String(redact.Text(t))
}

// writeMarkdown renders the document as GitHub-flavoured Markdown.
func (d document) writeMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# %s\n\n", mdInline(d.title, false))
	writeMDList(w, d.facts, "")
	for _, s := range d.sections {
		fmt.Fprintf(w, "\n## %s\n", s.heading)
		for _, b := range s.blocks {
			fmt.Fprintln(w)
			switch {
			case b.picture:
				fmt.Fprintf(w, "```mermaid\n")
				writeMermaid(w, d.timeline)
				fmt.Fprintf(w, "```\n")
			case b.table != nil:
				fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(b.table.header, " | "), strings.Repeat(" --- |", len(b.table.header)))
				for _, row := range b.table.rows {
					cells := make([]string, len(row))
					for i, c := range row {
						cells[i] = mdInline(c, true)
					}
					fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
				}
			case b.list != nil:
				writeMDList(w, b.list, "")
			default:
				for _, l := range b.lines {
					fmt.Fprintf(w, "%s\n", mdInline(l, false))
				}
			}
		}
	}
}

func writeMDList(w io.Writer, items []item, indent string) {
	for _, it := range items {
		line := mdInline(it.text, false)
		if it.label != "" {
			line = strings.TrimSuffix("**"+it.label+":** "+line, " ") // a label over a sub-list only
		}
		fmt.Fprintf(w, "%s- %s\n", indent, line)
		writeMDList(w, it.sub, indent+"  ")
	}
}

// mdInline renders spans on one line, with no raw HTML; in a table cell, pipes are escaped
// (GitHub needs it inside code spans too), and a cell with no span at all
// (an empty code value) is a dash.
func mdInline(l inline, cell bool) string {
	var b strings.Builder
	for _, s := range l {
		t := oneLine(s.text)
		if cell {
			t = strings.ReplaceAll(t, "|", `\|`)
		}
		if !s.code {
			// Journal text is text: a backslash keeps a < from opening
			// raw HTML (an <img> that loads, a <details> that hides the
			// rest), and reads the same in a terminal.
			b.WriteString(strings.ReplaceAll(t, "<", `\<`))
			continue
		}
		// A backquote inside a code span needs a longer fence, and the
		// spaces that make a fence next to it readable.
		fence, pad := "`", ""
		for strings.Contains(t, fence) {
			fence, pad = fence+"`", " "
		}
		b.WriteString(fence + pad + t + pad + fence)
	}
	if cell && len(l) == 0 {
		return "-"
	}
	return b.String()
}
