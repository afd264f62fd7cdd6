package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The render tests draw the report with real renderers: the Mermaid block
// with mermaid-cli (mmdc) in Debian's Chromium, and the HTML page in
// headless Chromium. They skip when the tools are absent, unless
// LKG_REQUIRE_INTEGRATION=1 (CI, whose .ci/run installs them), when they
// fail instead. LKG_MMDC names mmdc (.ci/run installs it outside PATH);
// LKG_RENDER_DIR, when set, keeps the PNGs there for a person to look at.

// renderTool is the path of a tool, or skips (fails under
// LKG_REQUIRE_INTEGRATION=1) when it is absent.
func renderTool(t *testing.T, env, name string) string {
	t.Helper()
	if p := os.Getenv(env); env != "" && p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", env, p, err)
		}
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("LKG_REQUIRE_INTEGRATION=1 but no %s (.ci/run installs it)", name)
		}
		t.Skipf("no %s: skipping the render test", name)
	}
	return p
}

// chromiumFlags keep a headless Chromium off the network and out of the
// user's profile.
var chromiumFlags = []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--no-first-run"}

func keepRender(t *testing.T, path string) {
	t.Helper()
	dir := os.Getenv("LKG_RENDER_DIR")
	if dir == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // Chromium writes its crash and profile dirs there
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestMermaidRenders renders the report's Mermaid block with the real
// Mermaid: it must parse (mmdc fails on a syntax error), and the drawing
// must hold every step, decoded, and the time to restore.
func TestMermaidRenders(t *testing.T) {
	t.Parallel()
	mmdc := renderTool(t, "LKG_MMDC", "mmdc")
	chromium := renderTool(t, "", "chromium")
	var md bytes.Buffer
	WriteMarkdown(&md, sampleIncident(t))
	_, block, ok := strings.Cut(md.String(), "```mermaid\n")
	block, _, ok2 := strings.Cut(block, "```\n")
	if !ok || !ok2 {
		t.Fatalf("no mermaid block in the report:\n%s", md.String())
	}
	dir := t.TempDir()
	config := `{"executablePath":` + quote(chromium) + `,"args":["` + strings.Join(chromiumFlags, `","`) + `"]}`
	for name, body := range map[string]string{"timeline.mmd": block, "puppeteer.json": config} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	svgPath, pngPath := filepath.Join(dir, "timeline-mermaid.svg"), filepath.Join(dir, "timeline-mermaid.png")
	run(t, mmdc, "--quiet", "-p", filepath.Join(dir, "puppeteer.json"), "-i", filepath.Join(dir, "timeline.mmd"), "-o", svgPath)
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	milestones, crit, done := 0, 0, 0
	d := xml.NewDecoder(bytes.NewReader(svg))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mmdc's SVG is not XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.CharData:
			texts = append(texts, string(tok))
		case xml.StartElement:
			for _, a := range tok.Attr {
				if a.Name.Local != "class" || tok.Name.Local != "rect" {
					continue
				}
				class := strings.Fields(a.Value)
				if has(class, "milestone") {
					milestones++
					if strings.HasPrefix(class[len(class)-1], "crit") {
						crit++
					}
					if strings.HasPrefix(class[len(class)-1], "done") {
						done++
					}
				}
			}
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{
		"Incident 20261120-1400: checkout 500s (UTC)",
		"time to restore 9m (verified at 14:09)",
		"14:02 deploy checkout:prod done",
		"14:03 verify FAILED (503)",
		"14:04 undo checkout:prod done",
		"14:06 deploy checkout:prod overwritten",
		`14:10 note: rolled back; %%{init: {"theme":"dark"}}…`,
		"14:12 incident closed",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the rendered diagram lacks %q; its text:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Syntax error") {
		t.Errorf("Mermaid drew a syntax error")
	}
	if tl := TimelineOf(sampleIncident(t)); milestones != len(tl.Points) || crit != 1 || done < 5 {
		t.Errorf("%d milestones (%d crit, %d done), want %d (1 crit, at least 5 done)", milestones, crit, done, len(tl.Points))
	}
	if os.Getenv("LKG_RENDER_DIR") != "" {
		run(t, mmdc, "--quiet", "-p", filepath.Join(dir, "puppeteer.json"), "-i", filepath.Join(dir, "timeline.mmd"), "-o", pngPath, "-w", "1000")
		keepRender(t, pngPath)
		keepRender(t, svgPath)
	}
}

// TestHTMLScreenshot opens the HTML page in headless Chromium and checks
// the screenshot shows the timeline: the restore band, and below it
// markers in each outcome's colour.
func TestHTMLScreenshot(t *testing.T) {
	t.Parallel()
	chromium := renderTool(t, "", "chromium")
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := WriteHTMLFile(page, sampleIncident(t)); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report-html.png")
	args := append(append([]string{}, chromiumFlags...), "--hide-scrollbars", "--force-color-profile=srgb",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1200,900", "file://"+page)
	run(t, chromium, args...)
	keepRender(t, shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}

	// The band is the only area of its colour: it places the SVG.
	band := find(img, img.Bounds(), "#c8e6c9")
	if band.Empty() || band.Dx() < 100 {
		t.Fatalf("no time-to-restore band in the screenshot (found %v)", band)
	}
	region := image.Rect(band.Min.X-10, band.Min.Y, band.Min.X+960, band.Max.Y+260).Intersect(img.Bounds())
	for o, c := range colours {
		if n := count(img, region, c.fill); n < 40 {
			t.Errorf("%d pixels of %s (%s) under the band, want the %s markers and labels", n, c.fill, o, o)
		}
	}
	if n := count(img, image.Rect(0, 0, img.Bounds().Dx(), band.Min.Y), colours[OutcomeFailed].fill); n > 0 {
		t.Errorf("%d red pixels above the band: the timeline is not where the test looks", n)
	}
}

// find is the bounding box of the pixels of colour hex in r.
func find(img image.Image, r image.Rectangle, hex string) image.Rectangle {
	var box image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if near(img, x, y, hex) {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box
}

func count(img image.Image, r image.Rectangle, hex string) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if near(img, x, y, hex) {
				n++
			}
		}
	}
	return n
}

// near says the pixel is within a few steps of colour hex on each channel:
// Chromium's colours are exact in sRGB, but a margin costs nothing.
func near(img image.Image, x, y int, hex string) bool {
	var want [3]int
	for i := range want {
		want[i] = unhex(hex[1+2*i])*16 + unhex(hex[2+2*i])
	}
	r, g, b, _ := img.At(x, y).RGBA()
	got := [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
	for i := range got {
		if d := got[i] - want[i]; d < -6 || d > 6 {
			return false
		}
	}
	return true
}

func unhex(c byte) int {
	switch {
	case c >= 'a':
		return int(c-'a') + 10
	case c >= 'A':
		return int(c-'A') + 10
	}
	return int(c - '0')
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
