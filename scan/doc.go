// Package scan runs one find end to end: the repository, the registries and
// the engine, handing plain values to finder.
//
// finder decides over plain values and knows nothing of git, registries or
// the Docker engine; gitops and artifacts know nothing of each other. scan
// is where they meet: it picks the known-good candidates from the
// repository's tags, checks image references before any network call, opens
// the registries, lists the engine's images, reads the build production
// runs to name the bad deploy, asks finder to match and rank, and lists the
// git refs the code could be rebuilt from. lkg find prints what Find
// returns; lkg deploy deploys it.
package scan
