// Package demo stages what `lkg demo` shows: a throwaway registry served in
// process on 127.0.0.1 and small deterministic images pushed to it, so the
// demo needs no network and no Docker.
//
// It is the binary's own copy of the few pieces of internal/fixture the
// demo used: fixture is for tests (fault injection, the real distribution
// registry, malformed images) and must not be linked into lkg.
package demo
