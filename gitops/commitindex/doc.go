// Package commitindex is a repository's commit table: every commit in one
// sorted array with its tree, time and parents as indices, so that lookups
// by (abbreviated) hash are binary searches and reachability, ahead counts
// and same-tree questions are single passes in generation order, never
// per-ref walks through go-git.
//
// A Loader builds the table from the fastest correct source: git's
// commit-graph (completed from the object store), lkg's on-disk cache of an
// earlier scan for the same pack set, or a scan of the packs and loose
// objects that inflates only commits.
package commitindex
