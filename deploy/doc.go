// Package deploy moves a production image tag, for lkg deploy and lkg undo:
// plan (what goes where, from which digest), confirm, record the target's
// digest in the incident journal, move the tag with a compare-and-swap,
// read it back, and verify the service.
//
// A registry build is copied by digest (artifacts.Copier); a local engine
// image, or a rebuild of the known-good commit exported from git, is pushed
// through the engine under a staging tag first, so a failed push never
// touches the target. Deploy takes find's answer (a finder.Result) as
// input rather than running find, and Undo takes the journal's events:
// the caller decides where those come from.
//
// Every step that changes the registry is journaled through a Recorder
// before and after it happens, so the journal always says what the tag
// holds and undo can return any tag lkg moved. A move that does not finish
// cleanly (Ctrl-C, a 5xx, a timeout once the write may have been sent)
// reads the target back, with its own deadline, until it can say which
// digest it holds, and journals that. Registries have no conditional
// write: a move holds a per-target lock (WithLock) from the plan to the
// last read-back, re-reads right before the write, reads back after it
// and once more after a settle (WithSettle), and reports another writer
// that won (ErrOverwritten) instead of hiding it. History numbers a
// target's moves; UndoToRevision puts one back.
package deploy
