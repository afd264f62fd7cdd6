package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// updateGolden rewrites the golden files under testdata from the actual
// output: go test ./report -update, or LKG_UPDATE_GOLDEN=1 (the switch
// the testscript goldens use); then review the diff.
var updateGolden = flag.Bool("update", os.Getenv("LKG_UPDATE_GOLDEN") == "1", "rewrite golden files in testdata from the actual output")

// checkGolden compares got with testdata/name, or rewrites it.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (LKG_UPDATE_GOLDEN=1 go test ./report writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (LKG_UPDATE_GOLDEN=1 go test ./report rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestMermaidGolden(t *testing.T) {
	var b bytes.Buffer
	writeMermaid(&b, TimelineOf(sampleIncident(t)))
	checkGolden(t, "timeline.mmd", b.Bytes())
}

// mermaidLine is every line writeMermaid may write after the front matter:
// the header, sections, and tasks whose title holds no character that
// ends a title (: # ;), starts a comment or directive (%), or breaks the
// line.
var mermaidLine = regexp.MustCompile(`^(gantt|    title [^#;%:\n]*(#\d+;[^#;%:\n]*)*|    dateFormat YYYY-MM-DD HH:mm:ss|    axisFormat %H:%M|    axisFormat %m-%d %H:%M|    section (Incident|Find|Deploy|Verify|Notes)|    ([^#;%:\n]|#\d+;)+ :((done|crit|active), )?(milestone, )?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, \d+s)$`)

// TestMermaidEscapes feeds the diagram journal text written to break it
// (a directive, a comment, a section keyword, colons, a newline) and
// checks every line keeps its shape and the text comes back decoded.
func TestMermaidEscapes(t *testing.T) {
	in := sampleIncident(t)
	in.Title = "title x; %% comment\nsection evil: #1"
	var b bytes.Buffer
	writeMermaid(&b, TimelineOf(in))
	body := b.String()
	_, diagram, ok := strings.Cut(strings.TrimPrefix(body, "---\n"), "---\n")
	if !ok || !strings.HasPrefix(body, "---\nconfig:\n") {
		t.Fatalf("no front matter:\n%s", body)
	}
	for _, line := range strings.Split(strings.TrimSuffix(diagram, "\n"), "\n") {
		if !mermaidLine.MatchString(line) {
			t.Errorf("line %q is not a header, section or task line", line)
		}
	}
	decoded := regexp.MustCompile(`#(\d+);`).ReplaceAllStringFunc(diagram, func(s string) string {
		var r rune
		for _, c := range s[1 : len(s)-1] {
			r = r*10 + c - '0'
		}
		return string(r)
	})
	for _, want := range []string{
		"title Incident 20261120-1400: title x; %% comment section evil: #1 (UTC)",
		"14:10 note: rolled back; %%{init: {\"theme\":\"dark\"}}… :milestone",
		"14:03 verify FAILED (503) :crit, milestone, 2026-11-20 14:03:00, 0s",
		"time to restore 9m (verified at 14:09) :done, 2026-11-20 14:00:00, 540s",
	} {
		if !strings.Contains(decoded, want) {
			t.Errorf("decoded diagram lacks %q:\n%s", want, decoded)
		}
	}
}

func TestMermaidText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"deploy checkout:prod done", "deploy checkout#58;prod done"},
		{"a;b#c%d\ne", "a#59;b#35;c#37;d e"},
		{"<b>&\"'", "#60;b#62;#38;#34;#39;"},
		{"café …", "caf#233; #8230;"},
		{"ESC\x1b", `ESC#92;x1b`}, // termsafe first: a control character is shown, not sent
	}
	for _, tt := range tests {
		if got := mermaidText(tt.in); got != tt.want {
			t.Errorf("mermaidText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
