package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lkg-dev/lkg/journal"
	"github.com/lkg-dev/lkg/report"
)

// IncidentCmd is `lkg incident start|close`.
type IncidentCmd struct {
	Start IncidentStartCmd `cmd:"" help:"Open an incident in the journal; later steps are recorded under it."`
	Close IncidentCloseCmd `cmd:"" help:"Close the open incident."`
}

// IncidentStartCmd is `lkg incident start [TITLE]`.
type IncidentStartCmd struct {
	Title []string `arg:"" optional:"" help:"What is broken, in a few words (e.g. checkout returns 500). An incident lkg opened by itself (find, deploy or note outside one) gets this title."`
}

// Run opens the incident.
func (c *IncidentStartCmd) Run(g *Globals, std *IO) error {
	_, gitDir, err := journalOf(g)
	if err != nil {
		return err
	}
	title := strings.Join(c.Title, " ")
	e, err := appendEvent(gitDir, std, journal.Event{Kind: journal.KindIncidentStart, Message: title})
	if errors.Is(err, journal.ErrIncidentOpen) {
		if done, rerr := c.retitle(g, std, title); done || rerr != nil {
			return rerr
		}
		return fmt.Errorf("%w. Add to it with 'lkg note TEXT', or close it with 'lkg incident close' first", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(std.Out, "Started incident %s at %s.\n", e.Incident, e.Time.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(std.Out, "lkg find, deploy, undo and note now record here; close it with: lkg incident close\n")
	return nil
}

// retitle gives the open incident the title, when lkg opened it by itself
// (find, deploy or note outside an incident) and nobody titled it since:
// the engineer's start is the real start of that incident. done is false
// when the open incident was started or titled by a person.
func (c *IncidentStartCmd) retitle(g *Globals, std *IO, title string) (done bool, err error) {
	if title == "" {
		return false, nil
	}
	j, gitDir, err := journalOf(g)
	if err != nil {
		return false, err
	}
	events, _, err := j.Events()
	if err != nil {
		return false, fmt.Errorf("reading the incident journal: %w", err)
	}
	in, err := pickIncident(events, "")
	if err != nil || !in.Open || !in.OpenedByLkg() {
		return false, nil
	}
	if _, err := appendEvent(gitDir, std, journal.Event{Kind: journal.KindIncidentTitle, Message: title}); err != nil {
		return true, err
	}
	fmt.Fprintf(std.Out, "Titled incident %s (%s at %s): %s.\n", in.ID, in.Title, in.Start.UTC().Format("15:04"), title)
	return true, nil
}

// IncidentCloseCmd is `lkg incident close [MESSAGE]`.
type IncidentCloseCmd struct {
	Message []string `arg:"" optional:"" help:"How it ended (e.g. restored by redeploying v3.13.1)."`
}

// Run closes the open incident.
func (c *IncidentCloseCmd) Run(g *Globals, std *IO) error {
	j, gitDir, err := journalOf(g)
	if err != nil {
		return err
	}
	e, err := appendEvent(gitDir, std, journal.Event{Kind: journal.KindIncidentClose, Message: strings.Join(c.Message, " ")})
	if errors.Is(err, journal.ErrNoIncident) {
		return fmt.Errorf("%w to close. 'lkg journal' shows past incidents", err)
	}
	if err != nil {
		return err
	}
	open := ""
	if events, _, err := j.Events(); err == nil {
		if in, err := pickIncident(events, e.Incident); err == nil {
			open = fmt.Sprintf(" after %s", report.RoundDuration(e.Time.Sub(in.Start)))
		}
	}
	fmt.Fprintf(std.Out, "Closed incident %s%s. Write it up with: lkg report --incident %s\n", e.Incident, open, e.Incident)
	return nil
}
