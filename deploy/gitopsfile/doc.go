// Package gitopsfile is a GitOps config repository as a deploy target: an
// environment's gitops: block (repo, branch, file, image) names the file
// Argo CD or Flux deploys from, and lkg writes the build's digest there
// (a kustomization's images: digest:, a Helm values image: block's
// digest:, or a manifest's image: field), changing only that value's
// bytes so the file's formatting and comments stay, commits naming the
// incident, the good tag, the digest and the value before, and pushes to
// the branch. The push is the compare-and-swap: git refuses one that is
// not a fast-forward, and lkg then fetches and applies once more, if the
// file still names what it did. Undo is a revert commit of that value.
//
// For review (Config.Review, --gitops-branch), the commit goes to a new
// branch made from the environment's instead, which is then the target:
// one that exists with commits the environment's branch does not have is
// refused, never overwritten.
//
// Git itself (the git command) fetches and pushes, in a scratch bare
// repository: the user's own credentials, SSH keys and helpers apply, and
// no work tree is ever checked out.
package gitopsfile
