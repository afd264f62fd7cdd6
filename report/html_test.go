package report

import (
	"bytes"
	"html"
	"regexp"
	"strings"
	"testing"
)

// TestHTMLSameSections: the page has the Markdown report's sections, in
// its order, the timeline as SVG, and nothing that loads or runs.
func TestHTMLSameSections(t *testing.T) {
	in := sampleIncident(t)
	var md, page bytes.Buffer
	WriteMarkdown(&md, in)
	if err := WriteHTML(&page, in); err != nil {
		t.Fatal(err)
	}
	headings := regexp.MustCompile(`(?m)^## (.*)$`).FindAllStringSubmatch(md.String(), -1)
	h2 := regexp.MustCompile(`<h2>(.*)</h2>`).FindAllStringSubmatch(page.String(), -1)
	if len(headings) != len(h2) || len(h2) == 0 {
		t.Fatalf("Markdown sections %v, HTML sections %v", headings, h2)
	}
	for i := range headings {
		if headings[i][1] != html.UnescapeString(h2[i][1]) {
			t.Errorf("section %d: Markdown %q, HTML %q", i, headings[i][1], h2[i][1])
		}
	}
	p := page.String()
	for _, want := range []string{"<!DOCTYPE html>", `<svg xmlns="http://www.w3.org/2000/svg" class="timeline"`, "<strong>Time to restore:</strong> 9m",
		"default-src 'none'", "&lt;b&gt;bold&lt;/b&gt;", "https://***@checkout.example.com/healthz"} {
		if !strings.Contains(p, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", " src=", " href=", "url(", "@import", "s3cret", "<b>"} {
		if strings.Contains(p, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
}
