package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/lkg-dev/lkg/journal"
)

// JournalCmd is `lkg journal`.
type JournalCmd struct {
	Incident string `placeholder:"ID" help:"Show this incident (default: the open one, else the newest)."`
	All      bool   `help:"Show every incident's events."`
	JSON     bool   `name:"json" help:"Print exactly one JSON object: {\"incident\", \"events\", \"warnings\"}."`
}

// Help is the long text of `lkg journal --help`.
func (c *JournalCmd) Help() string {
	return `Lists the incident's events, oldest first: incident start and close, every find,
deploy, undo and verify, suspects lists and notes. The journal is the file
lkg/journal.jsonl in the repository's git directory, one JSON object a line;
a line torn by a crash is skipped with a warning.`
}

// journalJSON is what --json prints.
type journalJSON struct {
	Incident string          `json:"incident"` // "" with --all
	Events   []journal.Event `json:"events"`
	Warnings []string        `json:"warnings"`
}

// Run lists the events.
func (c *JournalCmd) Run(g *Globals, std *IO) error {
	if c.All && c.Incident != "" {
		return usagef("--all and --incident cannot be used together")
	}
	j, _, err := journalOf(g)
	if err != nil {
		return err
	}
	events, warnings, err := readJournal(j, std)
	if err != nil {
		return err
	}
	out := journalJSON{Events: events, Warnings: warnings}
	if out.Events == nil {
		out.Events = []journal.Event{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if !c.All {
		in, err := pickIncident(events, c.Incident)
		if err == errNoIncidents && c.Incident == "" {
			if c.JSON {
				return writeJSON(std.Out, out)
			}
			fmt.Fprintf(std.Out, "The journal is empty (%s).\n", j.Path())
			return nil
		}
		if err != nil {
			return err
		}
		out.Incident, out.Events = in.ID, in.Events
	}
	if c.JSON {
		return writeJSON(std.Out, out)
	}
	tw := tabwriter.NewWriter(std.Out, 0, 4, 2, ' ', 0)
	last := ""
	for _, e := range out.Events {
		if e.Incident != last {
			if last != "" {
				fmt.Fprintln(tw)
			}
			fmt.Fprintf(tw, "incident %s\n", e.Incident)
			last = e.Incident
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", e.Time.UTC().Format("2006-01-02 15:04:05"), e.Kind, printable(e.Summary()))
	}
	return tw.Flush()
}
