package cli

import (
	"fmt"
	"strings"

	"github.com/lkg-dev/lkg/journal"
)

// NoteCmd is `lkg note TEXT`.
type NoteCmd struct {
	Text []string `arg:"" help:"The note (e.g. check logs around 14:02; the restore script needed a manual step)."`
}

// Run adds the note to the open incident, starting one when none is open.
func (c *NoteCmd) Run(g *Globals, std *IO) error {
	text := strings.TrimSpace(strings.Join(c.Text, " "))
	if text == "" {
		return usagef("the note is empty. Say what happened, e.g. lkg note 'errors stopped at 14:07'")
	}
	_, gitDir, err := journalOf(g)
	if err != nil {
		return err
	}
	e, err := appendEvent(gitDir, std, journal.Event{Kind: journal.KindNote, Message: text})
	if err != nil {
		return err
	}
	fmt.Fprintf(std.Out, "Noted in incident %s at %s.\n", e.Incident, e.Time.UTC().Format("15:04 MST"))
	return nil
}
