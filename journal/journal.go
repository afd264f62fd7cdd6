package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/rogpeppe/go-internal/lockedfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Kind is what an event records.
type Kind string

// The event kinds lkg writes. Append accepts other non-empty kinds too, so a
// newer lkg's journal still reads; they count as incident steps.
const (
	KindIncidentStart Kind = "incident-start" // Message: the incident's title
	KindIncidentClose Kind = "incident-close"
	KindIncidentTitle Kind = "incident-title" // Message: the open incident's new title
	KindFind          Kind = "find"           // Data: FindData
	KindDeploy        Kind = "deploy"         // Data: Move
	KindUndo          Kind = "undo"           // Data: Move
	KindVerify        Kind = "verify"         // Data: VerifyData
	KindNote          Kind = "note"           // Message: the note
	KindSuspects      Kind = "suspects"       // Data: SuspectsData
)

// Sentinel errors of the journal, matched with errors.Is.
var (
	// ErrIncidentOpen: an incident-start while another incident is open.
	ErrIncidentOpen = errors.New("an incident is already open")
	// ErrNoIncident: an incident-close with no open incident.
	ErrNoIncident = errors.New("no open incident")
	// ErrNoKind: an event without a kind.
	ErrNoKind = errors.New("event has no kind")
	// ErrNotWritable: the journal's directory or file cannot be written
	// (read-only file system, permissions). Nothing was appended.
	ErrNotWritable = errors.New("journal is not writable")
)

// Event is one line of the journal.
//
// Data is kept raw so that a reader never fails on a field it does not know;
// decode it with DecodeData into FindData, Move or VerifyData.
type Event struct {
	Time     time.Time       `json:"time"`
	Kind     Kind            `json:"kind"`
	Incident string          `json:"incident"`
	Message  string          `json:"message,omitempty"`
	Data     json.RawMessage `json:"data,omitempty"`
}

// Journal is the incident journal of one repository: the file
// <gitdir>/lkg/journal.jsonl. A Journal holds no open file; every Append and
// Events opens, locks and closes, so any number of processes may share it.
type Journal struct {
	dir  string // <gitdir>/lkg
	path string // <gitdir>/lkg/journal.jsonl
	opts options
}

type options struct {
	clock     func() time.Time
	stepped   bool
	stepStart time.Time
	step      time.Duration

	// midWrite, when set, makes Append write the first half of its bytes,
	// call midWrite, then write the rest, or fail with midWrite's error.
	// Only tests set it: the crash test to be killed between the two
	// writes, the full-disk test to fail part-way.
	midWrite func() error
}

// Option configures Open.
type Option func(*options)

// WithClock sets the clock events are stamped with. The default is
// time.Now.
func WithClock(clock func() time.Time) Option {
	return func(o *options) { o.clock = clock; o.stepped = false }
}

// WithSteppedClock stamps events with a clock that reads the journal instead
// of the wall: the first event in an empty journal gets start, every later
// Append gets the last event's time plus step. Separate processes therefore
// agree on the times, which makes golden reports stable (lkg sets it from
// LKG_FAKE_NOW). The default is off: WithClock's clock is used.
func WithSteppedClock(start time.Time, step time.Duration) Option {
	return func(o *options) { o.stepped = true; o.stepStart = start; o.step = step }
}

// File is the journal's path inside a git directory.
func File(gitDir string) string {
	return filepath.Join(gitDir, "lkg", "journal.jsonl")
}

// Open returns the journal of the repository whose git directory is gitDir.
// The directory must exist; the journal file and its lkg/ directory are
// created on the first Append, so reading never writes.
func Open(gitDir string, opts ...Option) (*Journal, error) {
	o := options{clock: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	st, err := os.Stat(gitDir)
	if err != nil {
		return nil, fmt.Errorf("opening journal in %q: %w", gitDir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("opening journal in %q: not a directory", gitDir)
	}
	return &Journal{dir: filepath.Join(gitDir, "lkg"), path: File(gitDir), opts: o}, nil
}

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// autoTitle starts the title of an incident lkg opened by itself, for an
// event outside any incident: "opened by lkg find".
const autoTitle = "opened by lkg "

// Append writes e as one line and returns it as written, with Time (when
// zero) and Incident filled in. An incident-start opens a new incident
// (ErrIncidentOpen if one is open); an incident-close closes the open one
// (ErrNoIncident if none is), and an incident-title retitles it. Any other event outside an open incident first
// starts one, in the same write; started reports that.
//
// The lines are written with one write on a file opened O_APPEND while
// holding an exclusive flock, so concurrent appenders neither interleave nor
// lose lines. A torn last line left by a writer that was killed is closed off
// with a newline first, so it stays one skipped line and never swallows e.
// On error nothing was appended: a write that fails part-way (a full disk)
// is cut back off.
func (j *Journal) Append(e Event) (Event, bool, error) {
	if e.Kind == "" {
		return e, false, ErrNoKind
	}
	if err := os.MkdirAll(j.dir, 0o755); err != nil {
		return e, false, fmt.Errorf("creating %q: %w: %w", j.dir, ErrNotWritable, err)
	}
	// lockedfile holds an exclusive lock for as long as the file is open,
	// on every platform Go's own tools run on.
	f, err := lockedfile.OpenFile(j.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) || isReadOnly(err) {
			return e, false, fmt.Errorf("opening %q: %w: %w", j.path, ErrNotWritable, err)
		}
		return e, false, fmt.Errorf("opening %q: %w", j.path, err)
	}
	defer f.Close()

	content, err := io.ReadAll(f)
	if err != nil {
		return e, false, fmt.Errorf("reading %q: %w", j.path, err)
	}
	events, _ := parse(content, j.path)
	st := stateOf(events)

	now := j.now(st.last)
	if e.Time.IsZero() {
		e.Time = now
	}
	var out []Event
	started := false
	switch e.Kind {
	case KindIncidentStart:
		if st.open != "" {
			return e, false, fmt.Errorf("starting an incident: %w: %s", ErrIncidentOpen, st.open)
		}
		e.Incident = st.newID(e.Time)
		started = true
	case KindIncidentClose:
		if st.open == "" {
			return e, false, fmt.Errorf("closing the incident: %w", ErrNoIncident)
		}
		e.Incident = st.open
	case KindIncidentTitle:
		if st.open == "" {
			return e, false, fmt.Errorf("titling the incident: %w", ErrNoIncident)
		}
		e.Incident = st.open
	default:
		if st.open == "" {
			id := st.newID(e.Time)
			out = append(out, Event{Time: e.Time, Kind: KindIncidentStart, Incident: id,
				Message: autoTitle + string(e.Kind)})
			st.open = id
			started = true
		}
		e.Incident = st.open
	}
	out = append(out, e)

	var buf bytes.Buffer
	if len(content) > 0 && content[len(content)-1] != '\n' {
		buf.WriteByte('\n')
	}
	for _, ev := range out {
		line, err := json.Marshal(ev)
		if err != nil {
			return e, false, fmt.Errorf("encoding %s event: %w", ev.Kind, err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if err := j.write(f.File, buf.Bytes()); err != nil {
		return e, false, j.undoAppend(f.File, int64(len(content)), fmt.Errorf("appending to %q: %w", j.path, err))
	}
	// The event records what was done to production; losing it to a power
	// cut after we said "written" would defeat the journal.
	if err := f.Sync(); err != nil {
		return e, false, j.undoAppend(f.File, int64(len(content)), fmt.Errorf("syncing %q: %w", j.path, err))
	}
	return e, started, nil
}

// undoAppend cuts the journal back to size, its length before a write that
// failed part-way (a full disk writes what fits, then fails): the next
// reader finds no torn line, and the caller can say the event was not
// written. The lock is still held, so no other line came after. err is
// returned, with the truncation's own failure when there is one.
func (j *Journal) undoAppend(f *os.File, size int64, err error) error {
	if terr := f.Truncate(size); terr != nil {
		return fmt.Errorf("%w; cutting the journal back to its last whole line: %w", err, terr)
	}
	_ = f.Sync()
	return err
}

func (j *Journal) write(f *os.File, b []byte) error {
	if j.opts.midWrite != nil {
		half := len(b) / 2
		if _, err := f.Write(b[:half]); err != nil {
			return err
		}
		if err := j.opts.midWrite(); err != nil {
			return err
		}
		b = b[half:]
	}
	n, err := f.Write(b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

func (j *Journal) now(last time.Time) time.Time {
	if j.opts.stepped {
		if last.IsZero() {
			return j.opts.stepStart.UTC()
		}
		return last.Add(j.opts.step).UTC()
	}
	return j.opts.clock().UTC().Truncate(time.Millisecond)
}

// Current is the open incident's ID, or "" when none is open. Commands that
// should add to an incident but never start one (suspects) ask first.
func (j *Journal) Current() (string, error) {
	events, _, err := j.Events()
	if err != nil {
		return "", err
	}
	return stateOf(events).open, nil
}

// Events reads the journal, oldest first. Lines that do not parse (a torn
// last line from a killed writer, or damage) are skipped and reported as
// warnings; a missing journal is empty, not an error.
func (j *Journal) Events() ([]Event, []string, error) {
	// A shared lock, held while open, keeps a line being appended right
	// now from reading as torn.
	f, err := lockedfile.Open(j.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening %q: %w", j.path, err)
	}
	defer f.Close()
	content, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %q: %w", j.path, err)
	}
	events, warnings := parse(content, j.path)
	return events, warnings, nil
}

func parse(content []byte, path string) ([]Event, []string) {
	var events []Event
	var warnings []string
	lineNo := 0
	for len(content) > 0 {
		lineNo++
		line := content
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			content = nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil || e.Kind == "" {
			warnings = append(warnings, fmt.Sprintf("journal %s line %d: skipped a torn or damaged entry (%d bytes)", path, lineNo, len(line)))
			continue
		}
		events = append(events, e)
	}
	return events, warnings
}

type journalState struct {
	open string    // the open incident's ID, "" when none
	last time.Time // the newest event's time
	ids  map[string]bool
}

func stateOf(events []Event) journalState {
	st := journalState{ids: map[string]bool{}}
	for _, e := range events {
		if e.Time.After(st.last) {
			st.last = e.Time
		}
		switch e.Kind {
		case KindIncidentStart:
			st.open = e.Incident
			st.ids[e.Incident] = true
		case KindIncidentClose:
			if e.Incident == st.open {
				st.open = ""
			}
		}
	}
	return st
}

// newID names an incident after its start minute, which is what people say
// ("the 14:00 incident"); a second one in the same minute gets a suffix.
func (st journalState) newID(t time.Time) string {
	base := t.UTC().Format("20060102-1504")
	id := base
	for n := 2; st.ids[id]; n++ {
		id = fmt.Sprintf("%s-%d", base, n)
	}
	return id
}
