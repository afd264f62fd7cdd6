// Package report writes an incident up from its journal: the
// time-to-restore rule (RestoreOf), the timeline (TimelineOf) its pictures
// are drawn from, and the report lkg report prints, built once and written
// as Markdown with a Mermaid diagram (WriteMarkdown), as one self-contained
// HTML page with the timeline as inline SVG (WriteHTML), or as JSON for
// incident tools (JSONOf).
package report
