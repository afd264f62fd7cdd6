package report

import (
	"bytes"
	"fmt"
	"html/template"
	"time"

	"github.com/lkg-dev/lkg/journal"
)

// The SVG's geometry, in its own units (it scales to the page's width).
const (
	svgWidth   = 960.0
	svgLeft    = 48.0  // the time axis starts here: room for an edge marker's label
	svgRight   = 912.0 // and ends here
	bandTop    = 12.0  // the time-to-restore band
	bandHeight = 26.0
	axisY      = 76.0
	firstLane  = 122.0 // baseline of the first row of labels
	laneHeight = 22.0
	charWidth  = 7.3 // a character of the 12px monospace font, a little generous
	labelGap   = 10.0
)

// svgChart is the timeline laid out: every position computed here, so the
// template only draws.
type svgChart struct {
	Title       string
	Width       float64
	Height      float64
	AxisY       float64
	AxisX0      float64
	AxisX1      float64
	Ticks       []svgTick
	Band        svgBand
	Markers     []svgMarker
	LegendY     float64
	Legend      []svgLegend
	TimesInUTC  string
	LabelsStart float64
}

type svgTick struct {
	X     float64
	Label string
}

// svgBand is the span from the incident's start to the restore (class
// "restore"), or to the last step when service was not restored (class
// "unrestored").
type svgBand struct {
	Class          string
	X, W           float64
	Fill, Stroke   string
	Label          string
	LabelX         float64
	LabelAnchor    string
	ShadeTo        float64 // the band's shade runs down over the axis to here
	RestoreX       float64 // the restore's moment, 0 when not restored
	RestoreVisible bool
}

// svgMarker is one point: its marker on the axis, the leader down to its
// label, and the label in its row.
type svgMarker struct {
	Kind         journal.Kind
	Outcome      string
	Shape        string // circle, diamond, square, bar, dot
	X            float64
	Fill, Stroke string
	Title        string // the whole step, shown on hover
	Label        string
	LabelY       float64
	TextX        float64
	Anchor       string // start or end
}

type svgLegend struct {
	X            float64
	Fill, Stroke string
	Text         string
}

// layout places the timeline's points on a time axis: markers on the axis
// coloured by outcome, labels in rows below it, each in the first row
// where it overlaps no other label, so crowded steps stagger instead of
// writing over each other.
func layout(t Timeline) svgChart {
	t0, t1 := t.Start, t.Last()
	for _, p := range t.Points {
		if p.Time.Before(t0) {
			t0 = p.Time
		}
	}
	if t1.Sub(t0) < time.Minute {
		t1 = t0.Add(time.Minute)
	}
	span := t1.Sub(t0)
	x := func(at time.Time) float64 {
		return svgLeft + float64(at.Sub(t0))/float64(span)*(svgRight-svgLeft)
	}
	c := svgChart{Width: svgWidth, AxisY: axisY, AxisX0: svgLeft, AxisX1: svgRight, LabelsStart: firstLane}
	c.Title = "Timeline of incident " + t.ID
	if t.Title != "" {
		c.Title += ": " + oneLine(t.Title)
	}

	step, format := tickStep(span)
	for at := t0.Truncate(step); !at.After(t1); at = at.Add(step) {
		if at.Before(t0) {
			continue
		}
		c.Ticks = append(c.Ticks, svgTick{X: x(at), Label: at.UTC().Format(format)})
	}

	if d, ok := t.TimeToRestore(); ok {
		ok := colours[OutcomeOK]
		c.Band = svgBand{Class: "restore", X: x(t.Start), W: x(t.Start.Add(d)) - x(t.Start), Fill: "#c8e6c9", Stroke: ok.stroke,
			Label: restoreLabel(t), RestoreX: x(t.Restore.At), RestoreVisible: true}
	} else {
		failed := colours[OutcomeFailed]
		c.Band = svgBand{Class: "unrestored", X: x(t.Start), W: x(t1) - x(t.Start), Fill: "#ffcdd2", Stroke: failed.stroke,
			Label: "not restored"}
	}
	c.Band.ShadeTo = axisY + 10
	labelW := float64(len([]rune(c.Band.Label)))*charWidth + 12
	switch {
	case labelW <= c.Band.W:
		c.Band.LabelX, c.Band.LabelAnchor = c.Band.X+c.Band.W/2, "middle"
	case c.Band.X+c.Band.W+6+labelW <= svgWidth-4:
		c.Band.LabelX, c.Band.LabelAnchor = c.Band.X+c.Band.W+6, "start"
	default:
		c.Band.LabelX, c.Band.LabelAnchor = c.Band.X-6, "end"
	}

	var lanes [][][2]float64 // each row's occupied spans
	for _, p := range t.Points {
		m := svgMarker{Kind: p.Kind, Outcome: string(p.Outcome), Shape: shapeOf(p.Kind), X: x(p.Time),
			Fill: colours[p.Outcome].fill, Stroke: colours[p.Outcome].stroke, Title: p.Time.Format("15:04:05 ") + oneLine(p.Text)}
		m.Label = p.Time.Format("15:04 ") + clip(oneLine(p.Label), 60)
		w := float64(len([]rune(m.Label))) * charWidth
		// The label's swatch sits on the leader; the text runs right of
		// it, or left near the right edge.
		lo, hi, anchor, textX := m.X-6, m.X+10+w, "start", m.X+10
		if hi > svgWidth-4 {
			lo, hi, anchor, textX = m.X-10-w, m.X+6, "end", m.X-10
		}
		lane := 0
		for ; lane < len(lanes); lane++ {
			if free(lanes[lane], lo-labelGap, hi+labelGap) {
				break
			}
		}
		if lane == len(lanes) {
			lanes = append(lanes, nil)
		}
		lanes[lane] = append(lanes[lane], [2]float64{lo, hi})
		m.LabelY, m.TextX, m.Anchor = firstLane+float64(lane)*laneHeight, textX, anchor
		c.Markers = append(c.Markers, m)
	}
	rows := len(lanes)
	if rows == 0 {
		rows = 1
	}
	c.LegendY = firstLane + float64(rows-1)*laneHeight + 34
	c.Height = c.LegendY + 18
	legendX := svgLeft
	for _, l := range []struct {
		o    Outcome
		text string
	}{{OutcomeOK, "went well"}, {OutcomeFailed, "failed"}, {OutcomeWarning, "needs a look"}, {OutcomeInfo, "other steps"}} {
		c.Legend = append(c.Legend, svgLegend{X: legendX, Fill: colours[l.o].fill, Stroke: colours[l.o].stroke, Text: l.text})
		legendX += 28 + float64(len(l.text))*charWidth
	}
	c.Legend = append(c.Legend, svgLegend{X: legendX, Fill: c.Band.Fill, Stroke: c.Band.Stroke, Text: map[string]string{
		"restore": "time to restore", "unrestored": "not restored"}[c.Band.Class]})
	c.TimesInUTC = "times in UTC"
	return c
}

// free says no span of the row overlaps [lo, hi].
func free(row [][2]float64, lo, hi float64) bool {
	for _, s := range row {
		if lo < s[1] && s[0] < hi {
			return false
		}
	}
	return true
}

// tickStep is the smallest of the usual steps that puts at most ten ticks
// on the axis (seven for the longer labels of an incident over a day), and
// the clock format its labels need.
func tickStep(span time.Duration) (time.Duration, string) {
	steps := []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour}
	limit := time.Duration(10)
	if span >= 24*time.Hour {
		limit = 7
	}
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s <= limit {
			step = s
			break
		}
	}
	switch {
	case step < time.Minute:
		return step, "15:04:05"
	case span >= 24*time.Hour:
		return step, "01-02 15:04"
	}
	return step, "15:04"
}

// shapeOf is the marker's shape by kind, so the picture also reads
// without colour.
func shapeOf(kind journal.Kind) string {
	switch kind {
	case journal.KindDeploy, journal.KindUndo:
		return "circle"
	case journal.KindVerify:
		return "diamond"
	case journal.KindFind:
		return "square"
	case journal.KindIncidentStart, journal.KindIncidentClose:
		return "bar"
	}
	return "dot"
}

// svgOf draws the timeline as an SVG element, for the HTML page. Every
// text goes through html/template, so nothing from the journal can add
// markup.
func svgOf(t Timeline) (template.HTML, error) {
	var b bytes.Buffer
	if err := svgTemplate.Execute(&b, layout(t)); err != nil {
		return "", fmt.Errorf("drawing the timeline: %w", err)
	}
	return template.HTML(b.String()), nil // #nosec: written by html/template above
}

var svgTemplate = template.Must(template.New("svg").Funcs(template.FuncMap{
	"f":   func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add": func(a, b float64) float64 { return a + b },
}).Parse(`<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" aria-labelledby="timeline-title" viewBox="0 0 {{f .Width}} {{f .Height}}" width="100%" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="12">
<title id="timeline-title">{{.Title}}</title>
<rect x="0" y="0" width="{{f .Width}}" height="{{f .Height}}" fill="#ffffff"/>
{{with .Band}}<g class="band">
<rect class="{{.Class}}-shade" x="{{f .X}}" y="{{f (add 12 26)}}" width="{{f .W}}" height="{{f (add .ShadeTo -38)}}" fill="{{.Fill}}" fill-opacity="0.45"/>
<rect class="{{.Class}}" x="{{f .X}}" y="12" width="{{f .W}}" height="26" rx="4" fill="{{.Fill}}" stroke="{{.Stroke}}" stroke-width="1.5"><title>{{.Label}}</title></rect>
{{if .RestoreVisible}}<line class="restored-at" x1="{{f .RestoreX}}" y1="12" x2="{{f .RestoreX}}" y2="{{f .ShadeTo}}" stroke="{{.Stroke}}" stroke-width="2" stroke-dasharray="4 3"/>
{{end}}<text x="{{f .LabelX}}" y="29.5" text-anchor="{{.LabelAnchor}}" font-weight="bold" fill="#1b3a1f">{{.Label}}</text>
</g>
{{end}}<g class="axis" stroke="#37474f">
<line x1="{{f .AxisX0}}" y1="{{f .AxisY}}" x2="{{f .AxisX1}}" y2="{{f .AxisY}}" stroke-width="1.5"/>
{{range .Ticks}}<line x1="{{f .X}}" y1="{{f (add $.AxisY 9)}}" x2="{{f .X}}" y2="{{f (add $.AxisY 15)}}"/>
<text x="{{f .X}}" y="{{f (add $.AxisY 28)}}" text-anchor="middle" stroke="none" fill="#37474f" font-size="11">{{.Label}}</text>
{{end}}</g>
<g class="leaders" stroke="#b0bec5" stroke-width="1">
{{range .Markers}}<line x1="{{f .X}}" y1="{{f (add $.AxisY 8)}}" x2="{{f .X}}" y2="{{f (add .LabelY -4)}}"/>
{{end}}</g>
<g class="markers" stroke-width="1.5">
{{range .Markers}}{{if eq .Shape "circle"}}<circle class="marker {{.Outcome}}" data-kind="{{.Kind}}" cx="{{f .X}}" cy="{{f $.AxisY}}" r="7" fill="{{.Fill}}" stroke="{{.Stroke}}"><title>{{.Title}}</title></circle>
{{else if eq .Shape "diamond"}}<rect class="marker {{.Outcome}}" data-kind="{{.Kind}}" x="{{f (add .X -6)}}" y="{{f (add $.AxisY -6)}}" width="12" height="12" transform="rotate(45 {{f .X}} {{f $.AxisY}})" fill="{{.Fill}}" stroke="{{.Stroke}}"><title>{{.Title}}</title></rect>
{{else if eq .Shape "square"}}<rect class="marker {{.Outcome}}" data-kind="{{.Kind}}" x="{{f (add .X -6)}}" y="{{f (add $.AxisY -6)}}" width="12" height="12" fill="{{.Fill}}" stroke="{{.Stroke}}"><title>{{.Title}}</title></rect>
{{else if eq .Shape "bar"}}<rect class="marker {{.Outcome}}" data-kind="{{.Kind}}" x="{{f (add .X -3)}}" y="{{f (add $.AxisY -12)}}" width="6" height="24" fill="{{.Fill}}" stroke="{{.Stroke}}"><title>{{.Title}}</title></rect>
{{else}}<circle class="marker {{.Outcome}}" data-kind="{{.Kind}}" cx="{{f .X}}" cy="{{f $.AxisY}}" r="5" fill="{{.Fill}}" stroke="{{.Stroke}}"><title>{{.Title}}</title></circle>
{{end}}{{end}}</g>
<g class="labels">
{{range .Markers}}<g class="label"><rect x="{{f (add .X -4.5)}}" y="{{f (add .LabelY -9)}}" width="9" height="9" fill="{{.Fill}}" stroke="{{.Stroke}}"/><text x="{{f .TextX}}" y="{{f .LabelY}}" text-anchor="{{.Anchor}}" fill="#263238" stroke="#ffffff" stroke-width="3" stroke-linejoin="round" paint-order="stroke">{{.Label}}<title>{{.Title}}</title></text></g>
{{end}}</g>
<g class="legend" font-size="11">
{{range .Legend}}<rect x="{{f .X}}" y="{{f (add $.LegendY -9)}}" width="12" height="12" fill="{{.Fill}}" stroke="{{.Stroke}}"/><text x="{{f (add .X 17)}}" y="{{f (add $.LegendY 1)}}" fill="#37474f">{{.Text}}</text>
{{end}}<text x="{{f .AxisX1}}" y="{{f (add .LegendY 1)}}" text-anchor="end" fill="#78909c">{{.TimesInUTC}}</text>
</g>
</svg>`))
