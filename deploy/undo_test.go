package deploy

import (
	"errors"
	"testing"

	"github.com/lkg-dev/lkg/journal"
)

// deployEvent is a journal event of kind with d as its data.
func deployEvent(tb testing.TB, kind journal.Kind, d journal.Move) journal.Event {
	tb.Helper()
	e, err := journal.NewEvent(kind, "", d)
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

func TestLastDeploy(t *testing.T) {
	const target, other = "r.example/app:prod", "r.example/app:staging"
	dep := func(target string, status journal.Status, previous, digest string) journal.Event {
		return deployEvent(t, journal.KindDeploy, journal.Move{Target: target, Status: status, Previous: previous, Digest: digest})
	}
	undo := deployEvent(t, journal.KindUndo, journal.Move{Target: target, Status: journal.StatusDone, Previous: "sha256:b", Digest: "sha256:a"})
	note := journal.Event{Kind: journal.KindNote, Message: "x"}

	tests := []struct {
		name   string
		events []journal.Event
		now    string
		want   string // the Previous of the deploy found; "" for ErrNoDeploy
	}{
		{"empty journal", nil, "sha256:a", ""},
		{"one done", []journal.Event{dep(target, journal.StatusPlanned, "sha256:a", "sha256:b"), dep(target, journal.StatusDone, "sha256:a", "sha256:b")}, "sha256:b", "sha256:a"},
		{"newest done wins", []journal.Event{
			dep(target, journal.StatusDone, "sha256:a", "sha256:b"),
			dep(target, journal.StatusDone, "sha256:b", "sha256:c"),
		}, "sha256:c", "sha256:b"},
		{"other targets and kinds are passed over", []journal.Event{
			dep(target, journal.StatusDone, "sha256:a", "sha256:b"),
			dep(other, journal.StatusDone, "sha256:x", "sha256:y"),
			undo, note,
		}, "sha256:b", "sha256:a"},
		{"failed and dry runs are passed over", []journal.Event{
			dep(target, journal.StatusDone, "sha256:a", "sha256:b"),
			dep(target, journal.StatusFailed, "sha256:b", "sha256:c"),
			dep(target, journal.StatusDryRun, "sha256:b", "sha256:c"),
		}, "sha256:b", "sha256:a"},
		{"killed after the move: the planned line counts", []journal.Event{
			dep(target, journal.StatusDone, "sha256:a", "sha256:b"),
			dep(target, journal.StatusPlanned, "sha256:b", "sha256:c"),
		}, "sha256:c", "sha256:b"},
		{"killed before the move: passed over", []journal.Event{
			dep(target, journal.StatusDone, "sha256:a", "sha256:b"),
			dep(target, journal.StatusPlanned, "sha256:b", "sha256:c"),
		}, "sha256:b", "sha256:a"},
		{"only the newest planned line counts", []journal.Event{
			dep(target, journal.StatusPlanned, "sha256:a", "sha256:b"),
			dep(target, journal.StatusFailed, "sha256:a", "sha256:b"),
		}, "sha256:c", ""},
		{"failed, but the tag holds its digest: it moved", []journal.Event{
			dep(target, journal.StatusPlanned, "sha256:a", "sha256:b"),
			dep(target, journal.StatusFailed, "sha256:a", "sha256:b"),
		}, "sha256:b", "sha256:a"},
		{"unknown outcome, the tag at its digest", []journal.Event{
			dep(target, journal.StatusDone, "sha256:0", "sha256:a"),
			dep(target, journal.StatusPlanned, "sha256:a", "sha256:b"),
			dep(target, journal.StatusUnknown, "sha256:a", "sha256:b"),
		}, "sha256:b", "sha256:a"},
		{"failed and read back where it was: the older deploy", []journal.Event{
			dep(target, journal.StatusDone, "sha256:0", "sha256:a"),
			dep(target, journal.StatusPlanned, "sha256:a", "sha256:b"),
			dep(target, journal.StatusFailed, "sha256:a", "sha256:b"),
		}, "sha256:a", "sha256:0"},
		{"planned without a digest (a push that never got one)", []journal.Event{
			dep(target, journal.StatusPlanned, "sha256:a", ""),
		}, "sha256:z", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LastDeploy(tt.events, target, tt.now)
			if tt.want == "" {
				if !errors.Is(err, ErrNoDeploy) {
					t.Fatalf("LastDeploy = %+v, %v; want ErrNoDeploy", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("LastDeploy: %v", err)
			}
			if got.Previous != tt.want {
				t.Errorf("LastDeploy previous = %q, want %q", got.Previous, tt.want)
			}
		})
	}
}
