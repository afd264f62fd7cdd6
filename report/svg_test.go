package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

// svgElement is an element of the drawn SVG: its name, attributes and the
// text directly inside it.
type svgElement struct {
	name  string
	attr  map[string]string
	text  string
	depth int
}

// parseSVG parses the SVG as XML, as a browser's XML parser would: a
// malformed one fails the test.
func parseSVG(t *testing.T, svg string) []svgElement {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	var out []svgElement
	var open []int
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, svg)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			e := svgElement{name: tok.Name.Local, attr: map[string]string{}, depth: len(open)}
			for _, a := range tok.Attr {
				e.attr[a.Name.Local] = a.Value
			}
			out = append(out, e)
			open = append(open, len(out)-1)
		case xml.EndElement:
			open = open[:len(open)-1]
		case xml.CharData:
			if len(open) > 0 {
				out[open[len(open)-1]].text += string(tok)
			}
		}
	}
	if len(out) == 0 || out[0].name != "svg" {
		t.Fatalf("the document is not an svg element:\n%s", svg)
	}
	return out
}

func withClass(els []svgElement, class string) []svgElement {
	var out []svgElement
	for _, e := range els {
		for _, c := range strings.Fields(e.attr["class"]) {
			if c == class {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

func num(t *testing.T, e svgElement, attr string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(e.attr[attr], 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", e.name, attr, e.attr[attr], err)
	}
	return v
}

func TestSVGMarkersAndRestore(t *testing.T) {
	tl := TimelineOf(sampleIncident(t))
	svg, err := svgOf(tl)
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, string(svg))

	markers := withClass(els, "marker")
	if len(markers) != len(tl.Points) {
		t.Fatalf("%d markers, want one per point (%d)", len(markers), len(tl.Points))
	}
	for i, m := range markers {
		p := tl.Points[i]
		if m.attr["data-kind"] != string(p.Kind) || !strings.Contains(m.attr["class"], string(p.Outcome)) || m.attr["fill"] != colours[p.Outcome].fill {
			t.Errorf("marker %d = %v, want kind %s, outcome %s, fill %s", i, m.attr, p.Kind, p.Outcome, colours[p.Outcome].fill)
		}
	}
	// Markers sit in time order along the axis, the start at its left end.
	for i := 1; i < len(markers); i++ {
		if x(t, markers[i]) < x(t, markers[i-1]) {
			t.Errorf("marker %d at x=%.1f is left of marker %d at x=%.1f", i, x(t, markers[i]), i-1, x(t, markers[i-1]))
		}
	}
	if got := x(t, markers[0]); got != svgLeft {
		t.Errorf("the start's marker at x=%.1f, want the axis start %.1f", got, svgLeft)
	}

	// The restore span: from the start to the verify at 14:09, of 12
	// minutes on the axis, with its duration written on it.
	band := withClass(els, "restore")
	if len(band) != 1 {
		t.Fatalf("%d restore rects, want 1", len(band))
	}
	wantW := (svgRight - svgLeft) * 9 / 12
	if bx, bw := num(t, band[0], "x"), num(t, band[0], "width"); bx != svgLeft || bw < wantW-0.1 || bw > wantW+0.1 {
		t.Errorf("restore band x=%.1f width=%.1f, want x=%.1f width=%.1f", bx, bw, svgLeft, wantW)
	}
	if !strings.Contains(string(svg), ">time to restore 9m (verified at 14:09)<") {
		t.Errorf("the band's label is missing")
	}
	if len(withClass(els, "unrestored")) != 0 {
		t.Errorf("an unrestored band on a restored incident")
	}

	// Journal text is text: the note's markup is not an element.
	for _, e := range els {
		if e.name == "b" || e.name == "script" {
			t.Errorf("journal text became a <%s> element", e.name)
		}
	}
	if !strings.Contains(string(svg), "&lt;b&gt;bold&lt;/b&gt;") {
		t.Errorf("the note's text is not in the SVG, escaped")
	}

	// Ticks are labelled clock times, minutes apart for a 12-minute incident.
	var ticks []string
	for _, e := range els {
		if e.name == "text" && e.attr["font-size"] == "11" && strings.Count(e.text, ":") == 1 {
			ticks = append(ticks, e.text)
		}
	}
	if len(ticks) < 4 || ticks[0] != "14:00" {
		t.Errorf("tick labels = %v, want clock times from 14:00", ticks)
	}
}

func x(t *testing.T, e svgElement) float64 {
	t.Helper()
	switch e.name {
	case "circle":
		return num(t, e, "cx")
	case "rect":
		return num(t, e, "x") + num(t, e, "width")/2
	}
	t.Fatalf("marker <%s> has no known x", e.name)
	return 0
}

func TestSVGNotRestored(t *testing.T) {
	events := []journal.Event{
		mustEvent(t, 0, journal.KindIncidentStart, "", nil),
		mustEvent(t, 30, journal.KindDeploy, "", journal.Move{Target: "docker://web", Status: journal.StatusFailed}),
	}
	svg, err := svgOf(TimelineOf(journal.Incidents(events)[0]))
	if err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, string(svg))
	if len(withClass(els, "restore")) != 0 || len(withClass(els, "unrestored")) != 1 {
		t.Errorf("want one unrestored band and no restore band")
	}
	if len(withClass(els, "restored-at")) != 0 {
		t.Errorf("a restore line on an incident that was not restored")
	}
}

// TestLayoutStaggers crowds thirty steps into two minutes: no two labels
// in a row may overlap, and every label stays inside the picture.
func TestLayoutStaggers(t *testing.T) {
	events := []journal.Event{mustEvent(t, 0, journal.KindIncidentStart, "", nil)}
	for i := 0; i < 30; i++ {
		e := mustEvent(t, 0, journal.KindNote, fmt.Sprintf("note number %d, with some words", i), nil)
		e.Time = incidentStart.Add(time.Duration(i*4) * time.Second)
		events = append(events, e)
	}
	c := layout(TimelineOf(journal.Incidents(events)[0]))
	type span struct{ lo, hi float64 }
	rows := map[float64][]span{}
	for _, m := range c.Markers {
		w := float64(len([]rune(m.Label))) * charWidth
		s := span{m.TextX, m.TextX + w}
		if m.Anchor == "end" {
			s = span{m.TextX - w, m.TextX}
		}
		if s.lo < 0 || s.hi > c.Width {
			t.Errorf("label %q spans %.1f-%.1f, outside the picture's 0-%.0f", m.Label, s.lo, s.hi, c.Width)
		}
		for _, o := range rows[m.LabelY] {
			if s.lo < o.hi && o.lo < s.hi {
				t.Errorf("label %q (%.1f-%.1f) overlaps another in the row at y=%.0f (%.1f-%.1f)", m.Label, s.lo, s.hi, m.LabelY, o.lo, o.hi)
			}
		}
		rows[m.LabelY] = append(rows[m.LabelY], s)
	}
	if len(rows) < 2 {
		t.Errorf("%d rows of labels for 31 crowded steps, want them staggered", len(rows))
	}
	if c.Height < c.LegendY {
		t.Errorf("height %.0f cuts off the legend at %.0f", c.Height, c.LegendY)
	}
}

func TestTickStep(t *testing.T) {
	tests := []struct {
		span   time.Duration
		step   time.Duration
		format string
	}{
		{40 * time.Second, 5 * time.Second, "15:04:05"},
		{9 * time.Minute, time.Minute, "15:04"},
		{95 * time.Minute, 10 * time.Minute, "15:04"},
		{30 * time.Hour, 6 * time.Hour, "01-02 15:04"},
	}
	for _, tt := range tests {
		step, format := tickStep(tt.span)
		if step != tt.step || format != tt.format {
			t.Errorf("tickStep(%s) = %s, %q; want %s, %q", tt.span, step, format, tt.step, tt.format)
		}
	}
}
