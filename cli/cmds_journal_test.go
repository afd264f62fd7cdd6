package cli

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/journal"
)

// Journal commands for the testscript suites.
func init() {
	scriptCmds["journal-event"] = cmdJournalEvent
}

const journalEventUsage = "journal-event [-time RFC3339] [-m MESSAGE] KIND [FIELD=VALUE]..."

// journalData are the Data types of the event kinds journal-event writes.
var journalData = map[journal.Kind]func() any{
	journal.KindFind:   func() any { return new(journal.FindData) },
	journal.KindDeploy: func() any { return new(journal.Move) },
	journal.KindUndo:   func() any { return new(journal.Move) },
	journal.KindVerify: func() any { return new(journal.VerifyData) },
}

// cmdJournalEvent appends an event to the journal of the repository in the
// current directory, built with the journal's own types and constructor
// (FIELD is the data's JSON field name), so a script's journal reads as lkg
// writes it and follows the types when they change. Without -time the
// event is stamped as lkg stamps it (LKG_FAKE_NOW's stepped clock).
//
//	journal-event -time 2026-11-20T14:05:00Z deploy target=r.example/app:prod status=done
func cmdJournalEvent(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: %s", journalEventUsage)
	}
	var at time.Time
	var msg string
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-time":
			t, err := time.Parse(time.RFC3339, args[1])
			if err != nil {
				ts.Fatalf("-time: %v\nusage: %s", err, journalEventUsage)
			}
			at = t
		case "-m":
			msg = args[1]
		default:
			ts.Fatalf("unknown flag %s\nusage: %s", args[0], journalEventUsage)
		}
		args = args[2:]
	}
	if len(args) == 0 {
		ts.Fatalf("usage: %s", journalEventUsage)
	}
	kind, fields := args[0], args[1:]
	var data any
	if newData, ok := journalData[journal.Kind(kind)]; ok {
		data = newData()
		for _, f := range fields {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				ts.Fatalf("%q is not FIELD=VALUE\nusage: %s", f, journalEventUsage)
			}
			if err := setJSONField(data, k, v); err != nil {
				ts.Fatalf("journal-event %s: %v", kind, err)
			}
		}
	} else if len(fields) > 0 {
		ts.Fatalf("journal-event %s takes no fields (only %s events have data)", kind, "find, deploy, undo and verify")
	}
	e, err := journal.NewEvent(journal.Kind(kind), msg, data)
	ts.Check(err)
	e.Time = at

	repo, err := gitops.Open(ts.MkAbs("."))
	ts.Check(err)
	var opts []journal.Option
	if v := ts.Getenv(fakeNowEnv); v != "" {
		start, err := time.Parse(time.RFC3339, v)
		ts.Check(err)
		opts = append(opts, journal.WithSteppedClock(start, time.Minute))
	}
	j, err := journal.Open(repo.GitDir(), opts...)
	ts.Check(err)
	_, _, err = j.Append(e)
	ts.Check(err)
}

// setJSONField sets the field of the struct *v whose JSON name is name,
// parsing value for its type.
func setJSONField(v any, name, value string) error {
	s := reflect.ValueOf(v).Elem()
	for i := 0; i < s.NumField(); i++ {
		tag, _, _ := strings.Cut(s.Type().Field(i).Tag.Get("json"), ",")
		if tag != name {
			continue
		}
		f := s.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(value)
		case reflect.Int, reflect.Int64:
			n, err := strconv.ParseInt(value, 10, 64)
			if err != nil {
				return fmt.Errorf("%s=%q: %w", name, value, err)
			}
			f.SetInt(n)
		case reflect.Bool:
			b, err := strconv.ParseBool(value)
			if err != nil {
				return fmt.Errorf("%s=%q: %w", name, value, err)
			}
			f.SetBool(b)
		default:
			return fmt.Errorf("field %s (%s) cannot be set from the command line", name, f.Type())
		}
		return nil
	}
	return fmt.Errorf("%T has no field %q", v, name)
}
