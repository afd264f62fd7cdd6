// Package report writes an incident up from its journal: the
// time-to-restore rule (RestoreOf) and the Markdown report (WriteMarkdown)
// that lkg report prints.
package report
