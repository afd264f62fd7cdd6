// Package config owns lkg's settings file, .lkg.yaml at the repository root,
// as a typed value, and the defaults lkg's packages share (the cache
// directory), so each default is written in one place.
//
// The file sets the same keys as find's and deploy's flags, in snake_case
// (good_tags for --good-tags), plus the risk categories of suspects. The
// command line applies it: flags win over LKG_* variables, which win over
// the file. A file comes with the repository and may be hostile, so it is
// read only when it is a regular file of at most MaxFileSize bytes, and no
// list in it may be longer than MaxListLen.
package config
