package gitops

import (
	"strings"
	"testing"
)

func TestTagNames(t *testing.T) {
	t.Parallel()
	s := newSmallRepo(t)
	r, err := Open(s.dir, WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.TagNames()
	if err != nil {
		t.Fatal(err)
	}
	if want := gitRun(t, s.dir, "tag", "-l"); strings.Join(got, "\n") != want {
		t.Errorf("TagNames() = %q, want git tag -l:\n%s", got, want)
	}
}
