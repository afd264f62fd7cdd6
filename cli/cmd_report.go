package cli

import "github.com/lkg-dev/lkg/report"

// ReportCmd is `lkg report`.
type ReportCmd struct {
	Format   string `default:"markdown" enum:"markdown" help:"Output format (markdown)."`
	Incident string `placeholder:"ID" help:"Write up this incident (default: the open one, else the newest)."`
}

// Help is the long text of `lkg report --help`.
func (c *ReportCmd) Help() string {
	return `Writes the incident up from the journal, in Markdown: the timeline, what lkg
found and where, what was deployed (by digest), the verification, the time to
restore, the suspects (from 'lkg suspects' run during the incident) and the notes.

Time to restore runs from the incident's start to the first verified deploy: a
deploy that finished, followed by a verify that answered 2xx. When no verify was
recorded at all, it runs to the first finished deploy. A deploy undone later in
the incident does not count, nor does an interrupted verify.`
}

// Run prints the report.
func (c *ReportCmd) Run(g *Globals, std *IO) error {
	events, err := journalEvents(g, std)
	if err != nil {
		return err
	}
	in, err := pickIncident(events, c.Incident)
	if err != nil {
		return err
	}
	report.WriteMarkdown(std.Out, in)
	return nil
}
