// Package types holds the values more than one lkg package speaks in: a
// commit, a ref's state relative to a known-good commit, an image's raw
// evidence, and the revision errors. It imports only the standard library,
// so finder (which decides), gitops (which reads git) and artifacts (which
// reads registries and the engine) share one vocabulary without importing
// each other, and nobody copies one type into another field by field.
package types
