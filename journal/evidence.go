package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Evidence is what a runtime target's broken build was doing, captured
// right before lkg replaced it: the one chance to keep the logs, exit codes
// and events the restore destroys. Environment variables and mounted
// secrets are never part of it; its text has passed redaction before it is
// saved.
type Evidence struct {
	Target string         `json:"target"`
	Taken  time.Time      `json:"taken"`
	Units  []EvidenceUnit `json:"units"`            // containers, tasks or pods
	Events []string       `json:"events,omitempty"` // the runtime's warning events, oldest first
	// Notes say what could not be captured ("logs unavailable: ...", a
	// capture cut short by its time budget).
	Notes []string `json:"notes,omitempty"`
}

// EvidenceUnit is one container, task or pod (container) of a target.
type EvidenceUnit struct {
	Name      string   `json:"name"`
	Image     string   `json:"image,omitempty"`
	State     string   `json:"state"` // running, exited, restarting, CrashLoopBackOff...
	ExitCode  int      `json:"exit_code"`
	OOMKilled bool     `json:"oom_killed,omitempty"`
	Restarts  int      `json:"restarts"`
	Health    string   `json:"health,omitempty"`     // healthy, unhealthy, starting
	HealthLog []string `json:"health_log,omitempty"` // the last probes' outputs
	Reason    string   `json:"reason,omitempty"`     // the runtime's word for the last termination or error
	Logs      string   `json:"logs,omitempty"`       // the last lines, capped
	// LogsTruncated says Logs holds only the end of what was there.
	LogsTruncated bool `json:"logs_truncated,omitempty"`
}

// EvidenceSummary is what a deploy event keeps of a capture, for lkg
// journal and lkg report; the whole capture is in the file at Path.
type EvidenceSummary struct {
	// Path is the capture, relative to the journal's directory
	// (<gitdir>/lkg): "evidence/<incident>/<target>-<time>.json".
	Path   string        `json:"path"`
	Units  []UnitSummary `json:"units"`
	Events []string      `json:"events,omitempty"` // at most 10, the newest
	// ErrorLines are the most frequent log lines that say error, panic,
	// fatal or exception, most frequent first, at most 5.
	ErrorLines []CountedLine `json:"error_lines,omitempty"`
	Notes      []string      `json:"notes,omitempty"`
}

// UnitSummary is an EvidenceUnit without its logs.
type UnitSummary struct {
	Name      string `json:"name"`
	State     string `json:"state"`
	ExitCode  int    `json:"exit_code"`
	OOMKilled bool   `json:"oom_killed,omitempty"`
	Restarts  int    `json:"restarts"`
	Health    string `json:"health,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// CountedLine is a log line and how often it came.
type CountedLine struct {
	Line  string `json:"line"`
	Count int    `json:"count"`
}

// SaveEvidence writes ev beside the journal, under the open incident
// (ID "none" outside one) and the target, and returns its path relative
// to the journal's directory. maxBytes caps what one incident's captures
// may take on disk: past it the capture is not saved and the error says
// so.
func (j *Journal) SaveEvidence(ev Evidence, maxBytes int64) (string, error) {
	incident, err := j.Current()
	if err != nil {
		return "", err
	}
	if incident == "" {
		incident = "none"
	}
	data, err := json.MarshalIndent(ev, "", "  ")
	if err != nil {
		return "", err
	}
	dir := filepath.Join(j.dir, "evidence", incident)
	if used := dirSize(dir); maxBytes > 0 && used+int64(len(data)) > maxBytes {
		return "", fmt.Errorf("saving the evidence of %s: the incident's captures would pass %d bytes (%d used); not saved", ev.Target, maxBytes, used)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("saving the evidence of %s: %w: %w", ev.Target, ErrNotWritable, err)
	}
	sum := sha256.Sum256([]byte(ev.Target))
	name := fmt.Sprintf("%s-%s.json", hex.EncodeToString(sum[:6]), ev.Taken.UTC().Format("20060102T150405Z"))
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		return "", fmt.Errorf("saving the evidence of %s: %w", ev.Target, err)
	}
	return filepath.ToSlash(filepath.Join("evidence", incident, name)), nil
}

// LoadEvidence reads a capture SaveEvidence wrote, by its relative path.
func (j *Journal) LoadEvidence(path string) (Evidence, error) {
	var ev Evidence
	if !filepath.IsLocal(filepath.FromSlash(path)) {
		return ev, fmt.Errorf("evidence path %q is not inside the journal's directory", path)
	}
	data, err := os.ReadFile(filepath.Join(j.dir, filepath.FromSlash(path)))
	if err != nil {
		return ev, err
	}
	return ev, json.Unmarshal(data, &ev)
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if fi, err := e.Info(); err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
	}
	return n
}

// errorLine is a log line worth counting: it says something failed.
var errorLine = regexp.MustCompile(`(?i)\b(error|panic|fatal|exception|failed)\b`)

// Summarize is the summary of ev a deploy event keeps, with path to the
// whole capture.
func Summarize(ev Evidence, path string) EvidenceSummary {
	s := EvidenceSummary{Path: path, Units: []UnitSummary{}, Notes: ev.Notes}
	counts := map[string]int{}
	for _, u := range ev.Units {
		s.Units = append(s.Units, UnitSummary{Name: u.Name, State: u.State, ExitCode: u.ExitCode, OOMKilled: u.OOMKilled, Restarts: u.Restarts, Health: u.Health, Reason: u.Reason})
		for line := range strings.SplitSeq(u.Logs, "\n") {
			line = strings.TrimSpace(line)
			if line != "" && errorLine.MatchString(line) {
				counts[clip(line, 200)]++
			}
		}
	}
	for line, n := range counts {
		s.ErrorLines = append(s.ErrorLines, CountedLine{Line: line, Count: n})
	}
	sort.Slice(s.ErrorLines, func(a, b int) bool {
		x, y := s.ErrorLines[a], s.ErrorLines[b]
		return x.Count > y.Count || x.Count == y.Count && x.Line < y.Line
	})
	if len(s.ErrorLines) > 5 {
		s.ErrorLines = s.ErrorLines[:5]
	}
	s.Events = ev.Events
	if len(s.Events) > 10 {
		s.Events = s.Events[len(s.Events)-10:]
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
