//go:build unix

package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLoadRefusesHostileFiles: a settings file comes with the repository,
// so it may be a FIFO (opening it would wait for a writer forever), a link
// to /dev/zero (reading it would never end), or merely huge. Each is an
// *Error naming the file, returned at once. Load runs under a deadline so
// that a regression fails this test instead of hanging the suite.
func TestLoadRefusesHostileFiles(t *testing.T) {
	tests := []struct {
		name string
		make func(t *testing.T, path string)
		want string
	}{
		{"fifo", func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, "not a regular file (named pipe)"},
		{"dev-zero", func(t *testing.T, path string) {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file (device)"},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file (directory)"},
		{"too-large", func(t *testing.T, path string) {
			data := "#" + strings.Repeat("x", MaxFileSize) + "\n"
			if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "larger than 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, FileName)
			tt.make(t, path)
			done := make(chan error, 1)
			go func() {
				_, err := Load(dir)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				// Unblock the FIFO's open so the goroutine can end.
				if f, ferr := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); ferr == nil {
					f.Close()
				}
				t.Fatalf("Load(%s) did not return within a minute", tt.name)
			}
			var cerr *Error
			if !errors.As(err, &cerr) || cerr.Path != path || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load = %v, want an *Error for %s saying %q", err, path, tt.want)
			}
		})
	}
}

func TestLoadFollowsLinkToRegularFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "settings.yaml")
	if err := os.WriteFile(target, []byte("depth: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, FileName)); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(dir)
	if err != nil || cfg.Depth == nil || *cfg.Depth != 3 {
		t.Errorf("Load = %+v, %v; want depth 3", cfg, err)
	}
}
