// Package journal is the append-only incident journal: one JSON line per
// event, kept beside the repository's git directory. Appends are atomic and
// safe between processes; a torn last line is skipped, never fatal.
package journal
