package journal

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A write that fails part-way (a full disk) leaves the journal as it was:
// no torn line for the next reader, and the failure is returned.
func TestAppendFailsPartWay(t *testing.T) {
	dir := t.TempDir()
	mustAppend(t, MustOpen(t, dir), Event{Kind: KindNote, Message: "first"})
	before := mustRead(t, File(dir))

	j := MustOpen(t, dir, func(o *options) {
		o.midWrite = func() error { return syscall.ENOSPC }
	})
	_, _, err := j.Append(Event{Kind: KindNote, Message: "second"})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append = %v, want ENOSPC", err)
	}
	if got := mustRead(t, File(dir)); !bytes.Equal(got, before) {
		t.Errorf("journal after the failed append:\n%s\nwant it as before:\n%s", got, before)
	}
	events, warnings, err := MustOpen(t, dir).Events()
	if err != nil || len(warnings) > 0 || len(events) != 2 { // the incident lkg opened, and "first"
		t.Errorf("Events = %d events, warnings %q, %v; want 2, none, nil", len(events), warnings, err)
	}
}

// The same on a real full file system: a 64 KB tmpfs (root only).
func TestAppendDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	mustAppend(t, MustOpen(t, mnt), Event{Kind: KindNote, Message: "first"})
	before := mustRead(t, File(mnt))
	// Fill the rest but one page, then append more than a page.
	filler, err := os.Create(filepath.Join(mnt, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = filler.Write(make([]byte, 4096))
	}
	filler.Close()
	if err := os.Truncate(filler.Name(), mustSize(t, filler.Name())-4096); err != nil {
		t.Fatal(err)
	}

	_, _, err = MustOpen(t, mnt).Append(Event{Kind: KindNote, Message: strings.Repeat("x", 3*4096)})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Append = %v, want ENOSPC", err)
	}
	if got := mustRead(t, File(mnt)); !bytes.Equal(got, before) {
		t.Errorf("journal after the failed append has %d bytes, want it as before (%d bytes), no torn line", len(got), len(before))
	}
	// With room again, the next append is whole.
	if err := os.Remove(filler.Name()); err != nil {
		t.Fatal(err)
	}
	mustAppend(t, MustOpen(t, mnt), Event{Kind: KindNote, Message: "third"})
	if _, warnings, err := MustOpen(t, mnt).Events(); err != nil || len(warnings) > 0 {
		t.Errorf("Events: warnings %q, %v; want none", warnings, err)
	}
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func mustSize(tb testing.TB, path string) int64 {
	tb.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		tb.Fatal(err)
	}
	return fi.Size()
}

func mustAppend(tb testing.TB, j *Journal, e Event) {
	tb.Helper()
	if _, _, err := j.Append(e); err != nil {
		tb.Fatal(err)
	}
}
