package deploy

import (
	"context"
	"fmt"
	"time"

	"github.com/lkg-dev/lkg/internal/redact"
	"github.com/lkg-dev/lkg/journal"
)

// keepEvidence captures what the build the target runs is doing, within
// the time budget, before a deploy replaces it, saves it and names it on
// the move's record. The restore comes first: a capture that fails or runs
// out of time is one warning, never a failed move, and a runtime that
// answers slowly delays the move by the budget at most.
func (d *deployment) keepEvidence(ctx context.Context) {
	taker, ok := d.t.(EvidenceTaker)
	eo := d.o.Evidence
	if !ok || eo.Off || eo.Save == nil || d.kind != journal.KindDeploy {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, eo.Timeout)
	defer cancel()
	type captured struct {
		ev  journal.Evidence
		err error
	}
	got := make(chan captured, 1)
	go func() {
		ev, err := taker.Evidence(cctx, eo.PerUnit)
		got <- captured{ev, err}
	}()
	var c captured
	select {
	case c = <-got:
	case <-cctx.Done():
		// The taker had the same deadline: a moment more for what it has.
		select {
		case c = <-got:
		case <-time.After(100 * time.Millisecond):
			c.err = fmt.Errorf("no answer within %s", eo.Timeout)
		}
	}
	if c.err != nil && len(c.ev.Units) == 0 {
		fmt.Fprintf(d.o.Log, "lkg: warning: keeping what %s was doing: %s; the restore goes on without it\n", d.name(), oneLine(c.err))
		return
	}
	ev := c.ev
	if c.err != nil {
		ev.Notes = append(ev.Notes, "capture incomplete: "+oneLine(c.err))
	}
	ev.Target, ev.Taken = d.name(), time.Now().UTC()
	scrub(&ev)
	path, err := eo.Save(ev)
	if err != nil {
		fmt.Fprintf(d.o.Log, "lkg: warning: %s; the restore goes on without it\n", oneLine(err))
		return
	}
	s := journal.Summarize(ev, path)
	d.rec0.Evidence = &s
	fmt.Fprintf(d.o.Log, "lkg: kept what %s was doing (%d unit(s)): %s\n", d.name(), len(ev.Units), path)
}

// scrub passes every text of a capture through the redaction lkg applies
// to all it prints: credentials in URLs, tokens.
func scrub(ev *journal.Evidence) {
	for i := range ev.Events {
		ev.Events[i] = redact.Text(ev.Events[i])
	}
	for i := range ev.Notes {
		ev.Notes[i] = redact.Text(ev.Notes[i])
	}
	for i := range ev.Units {
		u := &ev.Units[i]
		u.Logs = redact.Text(u.Logs)
		u.Reason = redact.Text(u.Reason)
		for j := range u.HealthLog {
			u.HealthLog[j] = redact.Text(u.HealthLog[j])
		}
	}
}
