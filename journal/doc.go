// Package journal is the append-only incident journal: one JSON line per
// event, kept beside the repository's git directory. Appends are atomic and
// safe between processes; a torn last line is skipped, never fatal.
//
// The file is <gitdir>/lkg/journal.jsonl (a linked work tree uses the common
// git dir), so it is never in the work tree and survives checkouts. Each
// line is an Event:
//
//	{"time":"2026-11-20T14:01:00Z","kind":"find","incident":"20261120-1400","data":{...}}
//
// Incidents are bracketed by incident-start and incident-close events; an
// incident's ID is its start minute in UTC (a second one in the same minute
// gets "-2"). Any other event appended while no incident is open starts one
// in the same write, titled "opened by lkg <kind>".
//
// Every Append takes an exclusive flock on the file, reads it to learn the
// open incident, and writes its line(s) with one write on an O_APPEND
// descriptor, then fsyncs. A writer killed mid-write leaves at most one
// partial line at the end; the next Append starts on a fresh line, and
// Events reports the partial line as a warning instead of failing.
//
// Record is how lkg writes: an event that cannot be written is printed for
// the user instead of lost. Deploy and undo events carry Move, whose
// Status and Method are typed (StatusDone, MethodCopy, ...), so readers ask
// Status.Finished rather than compare strings.
package journal
