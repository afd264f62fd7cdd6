// Package finder decides which build is the known-good one.
//
// It takes the known-good commits (from gitops), the builds (from artifacts)
// and the git refs that could rebuild them, and matches and ranks them. It is
// pure logic over plain values and the small interfaces declared here: it
// knows nothing of go-git, HTTP or the Docker engine, so every rule in
// matching and ranking is testable with plain values and the fakes beside it.
package finder
