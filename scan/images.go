package scan

import (
	"github.com/lkg-dev/lkg/internal/imageref"
)

// CheckImage accepts an image repository as --image takes it: HOST/REPO,
// with no tag, digest or scheme. Every other form is an *InputError whose
// message gives the corrected form. A first path component that is no host
// (no dot, no port, not localhost) is refused rather than read as Docker
// Hub, which is what container tools do quietly.
func CheckImage(image string) error {
	if _, err := imageref.ParseRepo(image); err != nil {
		return inputf("--image %v", err)
	}
	return nil
}

// CheckTarget accepts a production tag as --to takes it: HOST/REPO:TAG,
// with no digest or scheme. Every other form is an *InputError whose
// message gives the corrected form.
func CheckTarget(target string) error {
	if _, err := imageref.ParseTag(target); err != nil {
		return inputf("--to %v", err)
	}
	return nil
}
