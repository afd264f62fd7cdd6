package cli

import (
	"fmt"
)

// CleanCmd is `lkg clean`.
type CleanCmd struct{}

// Help is the long text of `lkg clean --help`.
func (c *CleanCmd) Help() string {
	return `Removes what lkg keeps for this repository: every ref under refs/lkg/ (the branch
tips and build revisions find fetched from the remotes, packed in packed-refs),
the commits it fetched by object id into its own scratch repository, and the
cached commit tables. Your branches, tags, remote-tracking refs and work tree are
not touched. Objects fetched into the repository stay until git gc prunes them,
as after any deleted branch.`
}

// Run removes refs/lkg/ and lkg's cache for the repository.
func (c *CleanCmd) Run(g *Globals, std *IO) error {
	repo, err := g.openRepo()
	if err != nil {
		return err
	}
	n, err := repo.Clean()
	if err != nil {
		return err
	}
	fmt.Fprintf(std.Out, "removed %d ref(s) under refs/lkg/ and lkg's cache for %s\n", n, repo.GitDir())
	return nil
}
