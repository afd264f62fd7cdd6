package scan

import (
	"strings"
)

// CheckImage accepts an image repository as --image takes it: HOST/REPO,
// with no tag, digest or scheme. Every other form is an *InputError whose
// message gives the corrected form. A first path component that is no host
// (no dot, no port, not localhost) is refused rather than read as Docker
// Hub, which is what container tools do quietly.
func CheckImage(image string) error {
	if rest, ok := cutScheme(image); ok {
		return inputf("--image %q is a URL: name the repository without a scheme; write %s", image, repoPart(rest))
	}
	if repo, _, ok := strings.Cut(image, "@"); ok {
		return inputf("--image %q has a digest: --image takes a repository (find reads every tag); write %s", image, repo)
	}
	if repo, ok := cutTag(image); ok {
		return inputf("--image %q has a tag: --image takes a repository (find reads every tag); write %s", image, repo)
	}
	if !hasHost(image) {
		return inputf("--image %q names no registry host: write HOST/REPO, like registry.example.com/%s (for Docker Hub: docker.io/%s)", image, image, image)
	}
	return nil
}

// CheckTarget accepts a production tag as --to takes it: HOST/REPO:TAG,
// with no digest or scheme. Every other form is an *InputError whose
// message gives the corrected form.
func CheckTarget(target string) error {
	if rest, ok := cutScheme(target); ok {
		return inputf("--to %q is a URL: name the tag without a scheme; write %s", target, rest)
	}
	if repo, _, ok := strings.Cut(target, "@"); ok {
		return inputf("--to %q has a digest: lkg moves a tag; want HOST/REPO:TAG, like %s:prod", target, repoPart(repo))
	}
	repo, ok := cutTag(target)
	if ok && strings.HasSuffix(target, ":") {
		return inputf("--to %q has an empty tag: want HOST/REPO:TAG, like %sprod", target, target)
	}
	if !hasHost(repo) {
		return inputf("--to %q names no registry host: want HOST/REPO:TAG, like registry.example.com/%s", target, withTag(target, ok))
	}
	if !ok {
		return inputf("--to %q has no tag: want HOST/REPO:TAG, like %s:prod", target, target)
	}
	return nil
}

// cutScheme strips "https://" and the like.
func cutScheme(ref string) (string, bool) {
	scheme, rest, ok := strings.Cut(ref, "://")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/.:") {
		return ref, false
	}
	return rest, true
}

// cutTag strips a ":tag" after the last slash.
func cutTag(ref string) (string, bool) {
	slash := strings.LastIndex(ref, "/")
	if i := strings.LastIndex(ref, ":"); i > slash && slash >= 0 {
		return ref[:i], true
	}
	if slash < 0 && strings.Contains(ref, ":") {
		return ref[:strings.LastIndex(ref, ":")], true
	}
	return ref, false
}

// repoPart is a reference without its tag or digest.
func repoPart(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	ref, _ = cutTag(ref)
	return ref
}

func withTag(ref string, hasTag bool) string {
	if hasTag {
		return ref
	}
	return ref + ":prod"
}

// hasHost says whether a repository's first component names a registry
// host: it has a dot or a port, or is localhost.
func hasHost(repo string) bool {
	host, _, ok := strings.Cut(repo, "/")
	if !ok || host == "" {
		return false
	}
	return strings.ContainsAny(host, ".:") || host == "localhost" || strings.HasPrefix(host, "[")
}
