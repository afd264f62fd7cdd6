package cli

import "github.com/lkg-dev/lkg/report"

// ReportCmd is `lkg report`.
type ReportCmd struct {
	Format   string `default:"markdown" enum:"markdown,html,json" help:"Output format: markdown, html (one self-contained page) or json."`
	HTML     string `name:"html" placeholder:"FILE" type:"path" help:"Write the report as one self-contained HTML page to FILE instead of printing it."`
	JSON     bool   `name:"json" help:"Print exactly one JSON object, like --format json: {\"id\", \"title\", \"start\", \"close\", \"time_to_restore\", \"environments\", \"events\"}."`
	Incident string `placeholder:"ID" help:"Write up this incident (default: the open one, else the newest)."`
}

// Help is the long text of `lkg report --help`.
func (c *ReportCmd) Help() string {
	return `Writes the incident up from the journal, in Markdown: the timeline (a Mermaid
diagram, which GitHub and GitLab draw, and a table), what lkg found and where,
what was deployed (by digest), the verification, the time to restore, the
suspects (from 'lkg suspects' run during the incident) and the notes.

--format html (or --html FILE) writes the same report as one HTML page that
loads nothing from anywhere, its timeline drawn as SVG; --json prints it for
incident tools that import timelines.

Time to restore runs from the incident's start to the first verified deploy: a
deploy that finished, followed by a verify that answered 2xx. When no verify was
recorded at all, it runs to the first finished deploy. A deploy undone later in
the incident does not count, nor does an interrupted verify.`
}

// Validate refuses two formats at once.
func (c *ReportCmd) Validate() error {
	switch {
	case c.JSON && c.HTML != "":
		return usagef("--json and --html cannot be used together")
	case c.JSON && c.Format != "markdown" && c.Format != "json":
		return usagef("--json and --format %s cannot be used together", c.Format)
	case c.HTML != "" && c.Format == "json":
		return usagef("--html and --format json cannot be used together")
	}
	return nil
}

// Run prints the report, or writes it to --html's file.
func (c *ReportCmd) Run(g *Globals, std *IO) error {
	events, err := journalEvents(g, std)
	if err != nil {
		return err
	}
	in, err := pickIncident(events, c.Incident)
	if err != nil {
		return err
	}
	switch {
	case c.HTML != "":
		if err := report.WriteHTMLFile(c.HTML, in); err != nil {
			return err
		}
		std.notef("wrote the report of incident %s to %s", in.ID, c.HTML)
		return nil
	case c.JSON || c.Format == "json":
		return writeJSON(std.Out, report.JSONOf(in))
	case c.Format == "html":
		return report.WriteHTML(std.Out, in)
	}
	report.WriteMarkdown(std.Out, in)
	return nil
}
