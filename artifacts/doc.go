// Package artifacts owns everything that holds builds: OCI registries
// (through go-containerregistry) and the local Docker engine (through the
// docker client). It lists, reads revision metadata, copies by digest, tags,
// builds and pushes. It knows nothing of git.
package artifacts
