// Package deploy is the deploy core, written once for every kind of
// target: lkg deploy, lkg undo, the --env rollout, history and status.
//
// A Target (target.go) is one place production runs a build: a registry
// tag (package deploy/registry), and the runtime targets beside it. It
// says what it runs now (Read), how a build would go there (Prepare), puts
// it there as a compare-and-swap against what was read (Apply), and waits
// until the runtime says it is done and healthy (Wait). Everything else is
// here: the plan printed before anything moves, confirmation, the
// per-target lock, the journal (what the target ran is recorded as
// "planned" before it moves, so undo can always put it back), the
// read-back after a move that did not finish cleanly (Ctrl-C, a 5xx, a
// timeout once the write may have been sent: the target is read with its
// own deadline until it says what it runs, and that is journaled),
// verification, --auto-revert, undo and history.
//
// A registry build is put on a target by digest; a local engine image or
// a rebuild of the known-good commit is pushed to a registry first
// (source.go) unless the target runs local images itself. Deploy takes
// find's answer (a finder.Result) rather than running find, and Undo takes
// the journal's events: the caller decides where those come from.
//
// One move is one record, journal.Move: the journal's deploy and undo
// events, history's entries, the report and deploy --json all carry it.
package deploy
