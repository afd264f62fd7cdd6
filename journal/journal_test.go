package journal

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helper process modes, chosen by environment variable when the test
// binary is re-executed: the crash test and the multi-process test run real
// separate writers.
const (
	helperDirEnv   = "LKG_JOURNAL_HELPER_DIR"
	helperModeEnv  = "LKG_JOURNAL_HELPER_MODE"
	helperCountEnv = "LKG_JOURNAL_HELPER_COUNT"
	helperNameEnv  = "LKG_JOURNAL_HELPER_NAME"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		os.Exit(helper(dir))
	}
	os.Exit(m.Run())
}

// helper appends notes and prints "ok N" after each Append returns. In mode
// "crash" it appends forever and the last Append stops halfway through its
// write, prints "mid" and waits to be killed.
func helper(dir string) int {
	count, _ := strconv.Atoi(os.Getenv(helperCountEnv))
	name := os.Getenv(helperNameEnv)
	crash := os.Getenv(helperModeEnv) == "crash"
	for i := 0; ; i++ {
		if !crash && i >= count {
			return 0
		}
		var opts []Option
		if crash && i == count {
			opts = append(opts, func(o *options) {
				o.midWrite = func() error {
					fmt.Println("mid")
					time.Sleep(time.Hour) // killed here, between the two halves
					return nil
				}
			})
		}
		j, err := Open(dir, opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, _, err := j.Append(Event{Kind: KindNote, Message: fmt.Sprintf("%s %d", name, i)}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Printf("ok %d\n", i)
	}
}

func helperCmd(t *testing.T, dir, mode, name string, count int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(),
		helperDirEnv+"="+dir, helperModeEnv+"="+mode,
		helperNameEnv+"="+name, helperCountEnv+"="+strconv.Itoa(count))
	cmd.Stderr = os.Stderr
	return cmd
}

// MustOpen opens the journal in dir or fails the test.
func MustOpen(tb testing.TB, dir string, opts ...Option) *Journal {
	tb.Helper()
	j, err := Open(dir, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// MustEvents reads the journal or fails the test.
func MustEvents(tb testing.TB, j *Journal) ([]Event, []string) {
	tb.Helper()
	events, warnings, err := j.Events()
	if err != nil {
		tb.Fatal(err)
	}
	return events, warnings
}

func kinds(events []Event) string {
	var s []string
	for _, e := range events {
		s = append(s, string(e.Kind)+":"+e.Incident)
	}
	return strings.Join(s, " ")
}

func TestAppendIncidents(t *testing.T) {
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		appends     []Kind // kinds, in order
		wantStarted []bool
		wantErr     []error
		want        string
	}{
		{
			name:        "find outside an incident starts one",
			appends:     []Kind{KindFind, KindDeploy},
			wantStarted: []bool{true, false},
			wantErr:     []error{nil, nil},
			want:        "incident-start:20261120-1400 find:20261120-1400 deploy:20261120-1400",
		},
		{
			name:        "explicit start, note, close, then a new incident",
			appends:     []Kind{KindIncidentStart, KindNote, KindIncidentClose, KindNote},
			wantStarted: []bool{true, false, false, true},
			wantErr:     []error{nil, nil, nil, nil},
			want:        "incident-start:20261120-1400 note:20261120-1400 incident-close:20261120-1400 incident-start:20261120-1403 note:20261120-1403",
		},
		{
			name:        "start twice and close twice are refused",
			appends:     []Kind{KindIncidentStart, KindIncidentStart, KindIncidentClose, KindIncidentClose},
			wantStarted: []bool{true, false, false, false},
			wantErr:     []error{nil, ErrIncidentOpen, nil, ErrNoIncident},
			want:        "incident-start:20261120-1400 incident-close:20261120-1400",
		},
		{
			name:        "a second incident in the same minute gets a suffix",
			appends:     []Kind{KindIncidentStart, KindIncidentClose, KindIncidentStart},
			wantStarted: []bool{true, false, true},
			wantErr:     []error{nil, nil, nil},
			want:        "incident-start:20261120-1400 incident-close:20261120-1400 incident-start:20261120-1400-2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := []Option{WithSteppedClock(start, time.Minute)}
			if strings.Contains(tt.name, "same minute") {
				opts = []Option{WithClock(func() time.Time { return start })}
			}
			j := MustOpen(t, dir, opts...)
			for i, kind := range tt.appends {
				_, started, err := j.Append(Event{Kind: kind})
				if !errors.Is(err, tt.wantErr[i]) {
					t.Fatalf("append %d (%s): err = %v, want %v", i, kind, err, tt.wantErr[i])
				}
				if started != tt.wantStarted[i] {
					t.Errorf("append %d (%s): started = %v, want %v", i, kind, started, tt.wantStarted[i])
				}
			}
			events, warnings := MustEvents(t, j)
			if got := kinds(events); got != tt.want {
				t.Errorf("events:\n got  %s\n want %s", got, tt.want)
			}
			if len(warnings) != 0 {
				t.Errorf("warnings = %q, want none", warnings)
			}
		})
	}
}

func TestSteppedClockAcrossOpens(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	var got []string
	for i := 0; i < 3; i++ {
		// A fresh Journal each time, as separate lkg processes would have.
		j := MustOpen(t, dir, WithSteppedClock(start, time.Minute))
		e, _, err := j.Append(Event{Kind: KindNote, Message: "n"})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Time.Format("15:04"))
	}
	// The first note also started the incident at 14:00, in the same write.
	want := "14:00 14:01 14:02"
	if strings.Join(got, " ") != want {
		t.Errorf("times = %s, want %s", strings.Join(got, " "), want)
	}
}

func TestEventsMissingJournal(t *testing.T) {
	j := MustOpen(t, t.TempDir())
	events, warnings := MustEvents(t, j)
	if len(events) != 0 || len(warnings) != 0 {
		t.Errorf("got %d events, %d warnings; want none", len(events), len(warnings))
	}
	if _, err := os.Stat(filepath.Dir(j.Path())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("reading created %s (err %v); reading must not write", filepath.Dir(j.Path()), err)
	}
}

func TestTornLineIsSkippedAndClosedOff(t *testing.T) {
	dir := t.TempDir()
	j := MustOpen(t, dir)
	if _, _, err := j.Append(Event{Kind: KindNote, Message: "before"}); err != nil {
		t.Fatal(err)
	}
	// What a writer killed halfway through its write leaves behind.
	f, err := os.OpenFile(j.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"time":"2026-11-20T14:00:00Z","kind":"no`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, _, err := j.Append(Event{Kind: KindNote, Message: "after"}); err != nil {
		t.Fatal(err)
	}
	events, warnings := MustEvents(t, j)
	var got []string
	for _, e := range events {
		got = append(got, string(e.Kind)+"="+e.Message)
	}
	want := "incident-start=opened by lkg note note=before note=after"
	if strings.Join(got, " ") != want {
		t.Errorf("events = %q, want %q", strings.Join(got, " "), want)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "line 3") {
		t.Errorf("warnings = %q, want one about line 3", warnings)
	}
}

func TestReadOnlyDirectory(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes through read-only permissions; TestReadOnlyAsNobody covers root")
	}
	dir := t.TempDir()
	j := MustOpen(t, dir)
	if _, _, err := j.Append(Event{Kind: KindNote, Message: "kept"}); err != nil {
		t.Fatal(err)
	}
	lkgDir := filepath.Dir(j.Path())
	if err := os.Chmod(j.Path(), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(lkgDir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(lkgDir, 0o755) })
	_, _, err := j.Append(Event{Kind: KindNote, Message: "refused"})
	if !errors.Is(err, ErrNotWritable) {
		t.Fatalf("append to a read-only journal: err = %v, want ErrNotWritable", err)
	}
	events, _ := MustEvents(t, j)
	if got, want := len(events), 2; got != want {
		t.Errorf("after the refused append: %d events, want %d", got, want)
	}
}

func TestReadOnlyParent(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes through read-only permissions; TestReadOnlyAsNobody covers root")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o755) })
	j := MustOpen(t, dir)
	if _, _, err := j.Append(Event{Kind: KindNote}); !errors.Is(err, ErrNotWritable) {
		t.Fatalf("err = %v, want ErrNotWritable", err)
	}
}

func TestConcurrentAppendersInOneProcess(t *testing.T) {
	dir := t.TempDir()
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				j, err := Open(dir)
				if err != nil {
					t.Error(err)
					return
				}
				if _, _, err := j.Append(Event{Kind: KindNote, Message: fmt.Sprintf("w%d %d", w, i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	checkAllNotes(t, dir, writers, each)
}

func TestConcurrentAppenderProcesses(t *testing.T) {
	dir := t.TempDir()
	const writers, each = 3, 60
	var cmds []*exec.Cmd
	for w := 0; w < writers; w++ {
		cmd := helperCmd(t, dir, "count", fmt.Sprintf("w%d", w), each)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	checkAllNotes(t, dir, writers, each)
}

// checkAllNotes checks that every writer's notes are all there, in each
// writer's order, in exactly one incident started exactly once.
func checkAllNotes(t *testing.T, dir string, writers, each int) {
	t.Helper()
	events, warnings := MustEvents(t, MustOpen(t, dir))
	if len(warnings) != 0 {
		t.Errorf("warnings = %q, want none", warnings)
	}
	next := map[string]int{}
	starts := 0
	for _, e := range events {
		if e.Kind == KindIncidentStart {
			starts++
			continue
		}
		var w string
		var i int
		if _, err := fmt.Sscanf(e.Message, "%s %d", &w, &i); err != nil {
			t.Fatalf("note %q: %v", e.Message, err)
		}
		if i != next[w] {
			t.Errorf("writer %s: note %d, want %d", w, i, next[w])
		}
		next[w] = i + 1
	}
	if starts != 1 {
		t.Errorf("%d incident starts, want 1", starts)
	}
	for w := 0; w < writers; w++ {
		name := fmt.Sprintf("w%d", w)
		if next[name] != each {
			t.Errorf("writer %s: %d notes, want %d", name, next[name], each)
		}
	}
}

func TestWriterKilledMidAppend(t *testing.T) {
	dir := t.TempDir()
	const before = 25
	cmd := helperCmd(t, dir, "crash", "w", before)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if sc.Text() == "mid" {
			break
		}
		acked++
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked != before {
		t.Fatalf("helper acknowledged %d appends before the torn one, want %d", acked, before)
	}

	// The kill released the lock; a new writer closes off the torn line.
	j := MustOpen(t, dir)
	if _, _, err := j.Append(Event{Kind: KindNote, Message: "w 999"}); err != nil {
		t.Fatal(err)
	}
	events, warnings := MustEvents(t, j)
	if len(warnings) != 1 {
		t.Errorf("warnings = %q, want exactly one torn line", warnings)
	}
	var got []string
	for _, e := range events[1:] {
		got = append(got, e.Message)
	}
	var want []string
	for i := 0; i < before; i++ {
		want = append(want, fmt.Sprintf("w %d", i))
	}
	want = append(want, "w 999")
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("notes after the crash:\n got  %v\n want %v", got, want)
	}
}

// TestReadOnlyAsNobody runs, as root (CI containers), a writer process as
// the unprivileged user nobody against a journal it may read but not write.
func TestReadOnlyAsNobody(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to switch to nobody; TestReadOnlyDirectory covers this user")
	}
	dir := t.TempDir()
	// t.TempDir's directories are private; nobody must be able to reach dir.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	j := MustOpen(t, dir)
	if _, _, err := j.Append(Event{Kind: KindNote, Message: "kept"}); err != nil {
		t.Fatal(err)
	}
	// Nor can nobody run the test binary where go test built it.
	bin, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	self := filepath.Join(filepath.Dir(dir), "journal.test")
	if err := os.WriteFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := helperCmd(t, dir, "count", "nobody", 1)
	cmd.Path, cmd.Args[0] = self, self
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err == nil {
		t.Fatal("a writer without permission appended; want a refusal")
	}
	if !strings.Contains(stderr.String(), ErrNotWritable.Error()) {
		t.Errorf("stderr = %q, want it to say %q", stderr.String(), ErrNotWritable)
	}
	events, warnings := MustEvents(t, j)
	if len(events) != 2 || len(warnings) != 0 {
		t.Errorf("after the refused append: %d events, %d warnings; want 2 and none", len(events), len(warnings))
	}
}

func TestIncidents(t *testing.T) {
	dir := t.TempDir()
	j := MustOpen(t, dir, WithSteppedClock(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC), time.Minute))
	for _, e := range []Event{
		{Kind: KindIncidentStart, Message: "checkout 500s"},
		{Kind: KindFind},
		{Kind: KindIncidentClose},
		{Kind: KindNote, Message: "later"},
	} {
		if _, _, err := j.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	events, _ := MustEvents(t, j)
	var got []string
	for _, in := range Incidents(events) {
		got = append(got, fmt.Sprintf("%s %q %s-%s open=%v n=%d", in.ID, in.Title,
			in.Start.Format("15:04"), in.End.Format("15:04"), in.Open, len(in.Events)))
	}
	want := []string{
		`20261120-1400 "checkout 500s" 14:00-14:02 open=false n=3`,
		`20261120-1403 "opened by lkg note" 14:03-00:00 open=true n=2`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("incidents:\n got  %q\n want %q", got, want)
	}
}

func TestLockTarget(t *testing.T) {
	dir := t.TempDir()
	j := MustOpen(t, dir)
	unlock, err := j.LockTarget("r.example/app:prod")
	if err != nil {
		t.Fatal(err)
	}
	// A second Journal is another open file description: flock excludes it
	// as it would another process.
	j2 := MustOpen(t, dir)
	if _, err := j2.LockTarget("r.example/app:prod"); !errors.Is(err, ErrTargetBusy) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second lock: %v, want ErrTargetBusy naming pid %d", err, os.Getpid())
	}
	other, err := j2.LockTarget("r.example/app:staging")
	if err != nil {
		t.Fatalf("another target: %v", err)
	}
	other()
	// Appends are not blocked by a held target lock.
	if _, _, err := j.Append(Event{Kind: KindNote, Message: "x"}); err != nil {
		t.Fatal(err)
	}
	unlock()
	again, err := j2.LockTarget("r.example/app:prod")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}

func TestIncidentTitle(t *testing.T) {
	j := MustOpen(t, t.TempDir(), WithSteppedClock(time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC), time.Minute))
	if _, _, err := j.Append(Event{Kind: KindIncidentTitle, Message: "x"}); !errors.Is(err, ErrNoIncident) {
		t.Fatalf("title with no incident open: %v, want ErrNoIncident", err)
	}
	if _, _, err := j.Append(Event{Kind: KindFind}); err != nil {
		t.Fatal(err)
	}
	events, _ := MustEvents(t, j)
	in := Incidents(events)[0]
	if in.Title != "opened by lkg find" || !in.OpenedByLkg() {
		t.Fatalf("auto-opened incident: title %q, OpenedByLkg %v", in.Title, in.OpenedByLkg())
	}
	if _, _, err := j.Append(Event{Kind: KindIncidentTitle, Message: "checkout returns 500"}); err != nil {
		t.Fatal(err)
	}
	events, _ = MustEvents(t, j)
	in = Incidents(events)[0]
	if got, want := in.Title, "checkout returns 500"; got != want || in.OpenedByLkg() {
		t.Fatalf("titled incident: title %q (want %q), OpenedByLkg %v", got, want, in.OpenedByLkg())
	}
}
