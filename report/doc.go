// Package report writes an incident up from its journal: the
// time-to-restore rule (RestoreOf), the timeline (TimelineOf) its picture
// is drawn from, and the Markdown report lkg report prints, its timeline
// drawn as a Mermaid diagram (WriteMarkdown).
package report
