package gitops

import (
	"fmt"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// TagNames lists the repository's tag names (without refs/tags/), sorted,
// like `git tag -l`. It reads refs only, never objects, so it stays fast
// enough for shell completion on repositories with many tags.
func (r *Repo) TagNames() ([]string, error) {
	iter, err := r.repo.Tags()
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	var names []string
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		names = append(names, strings.TrimPrefix(ref.Name().String(), "refs/tags/"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	sort.Strings(names)
	return names, nil
}
