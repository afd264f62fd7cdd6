// Package automation finds, in a repository's files, what would re-point a
// production image tag on its own after lkg moved it: Flux image
// automation (ImageRepository, ImagePolicy, ImageUpdateAutomation), Argo CD
// Image Updater annotations, Renovate and Dependabot docker updates, and
// kustomize images: entries naming the target. Each Finding names the file
// and how to pause it, so a redeploy is not undone minutes later.
//
// It reads files only: no cluster, no network.
package automation
