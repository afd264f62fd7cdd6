// Package gitops owns everything git, through go-git: opening the
// repository, resolving refs and tags, listing remotes and their advertised
// refs, fetching what is missing into a private namespace, reachability and
// tree identity over the commit table (gitops/commitindex), and exporting a
// commit's tree for a rebuild. It never moves the user's refs, HEAD, index
// or work tree. What changed between two commits is package suspects.
package gitops
