// Package radix sorts uint64 keys by their bytes: the pack reader orders
// a pack's entries by offset with it, and the commit table orders commits
// by hash. At millions of keys a comparison sort was a sixth of a cold
// scan; packing what is sorted and an index into one key makes the sort a
// few linear passes.
package radix
