// Package packfile reads git's object store directly: version 2 pack
// indexes, pack entries and their offset and ref deltas, and commit
// headers. It is the one such reader of lkg: the commit table scans every
// pack with it, and suspects reads trees, blobs and commits through it.
//
// It maps packs and inflates only what is asked for; anything it cannot
// do (loose objects, a delta whose base is in no mapped pack) it reports,
// and the caller reads through go-git instead.
package packfile
