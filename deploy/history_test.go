package deploy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/journal"
)

func TestHistory(t *testing.T) {
	const target = "r.example/app:prod"
	ev := func(kind journal.Kind, status journal.Status, previous, digest string) journal.Event {
		return deployEvent(t, kind, journal.Move{Target: target, Status: status, Previous: previous, Digest: digest})
	}
	events := []journal.Event{
		ev(journal.KindDeploy, journal.StatusPlanned, "a", "b"),
		ev(journal.KindDeploy, journal.StatusDone, "a", "b"),
		deployEvent(t, journal.KindDeploy, journal.Move{Target: "r.example/app:staging", Status: journal.StatusDone, Previous: "x", Digest: "y"}),
		{Kind: journal.KindNote, Message: "x"},
		ev(journal.KindDeploy, journal.StatusPlanned, "b", "c"), // killed: no outcome
		ev(journal.KindUndo, journal.StatusPlanned, "b", "a"),
		ev(journal.KindUndo, journal.StatusDone, "b", "a"),
		ev(journal.KindDeploy, journal.StatusDryRun, "a", "c"),
		ev(journal.KindDeploy, journal.StatusPlanned, "a", "c"),
		ev(journal.KindDeploy, journal.StatusFailed, "a", "c"),
	}
	var got []string
	for _, r := range History(events, target) {
		got = append(got, fmt.Sprintf("%d %s %s %s>%s moved=%v", r.Number, r.Kind, r.Status, r.Previous, r.Digest, r.Moved()))
	}
	want := []string{
		"4 deploy failed a>c moved=false",
		"3 undo done b>a moved=true",
		"2 deploy planned b>c moved=false",
		"1 deploy done a>b moved=true",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("History =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
