package journal

import (
	"fmt"
	"github.com/lkg-dev/lkg/internal/digest"
	"github.com/lkg-dev/lkg/internal/text"
	"strings"
)

// Summary is the event in one line, for the journal listing and the
// report's timeline.
func (e Event) Summary() string {
	switch e.Kind {
	case KindIncidentStart:
		if e.Message == "" {
			return "incident started"
		}
		return "incident started: " + e.Message
	case KindIncidentTitle:
		return "incident titled: " + e.Message
	case KindIncidentClose:
		if e.Message == "" {
			return "incident closed"
		}
		return "incident closed: " + e.Message
	case KindNote:
		return e.Message
	case KindFind:
		var d FindData
		if e.DecodeData(&d) != nil {
			break
		}
		good := ""
		if d.GoodTag != "" {
			good = " of " + d.GoodTag
		}
		if d.Best != "" {
			best := d.Best
			if image, dg, ok := strings.Cut(best, "@"); ok {
				best = image + "@" + digest.Short(dg)
			}
			return fmt.Sprintf("found %s%s (%s, %s)", best, good, plural(d.Builds, "build"), plural(d.Sources, "source"))
		}
		return fmt.Sprintf("no build%s found (%s to rebuild from)", good, plural(d.Sources, "source"))
	case KindDeploy, KindUndo:
		var d Move
		if e.DecodeData(&d) != nil {
			break
		}
		s := fmt.Sprintf("%s %s: %s -> %s", e.Kind, d.Status, d.Target, orNone(digest.Short(d.Digest)))
		if d.Previous != "" {
			s += " (was " + digest.Short(d.Previous) + ")"
		}
		if d.Method != "" {
			s += " by " + string(d.Method)
		}
		if d.Error != "" {
			s += ": " + d.Error
		}
		if d.Evidence != nil {
			s += "; kept what it replaced: " + d.Evidence.Path
		}
		return s
	case KindVerify:
		var d VerifyData
		if e.DecodeData(&d) != nil {
			break
		}
		return fmt.Sprintf("verify %s: %s %s", d.Verdict(), d.URL, d.Result())
	case KindSuspects:
		var d SuspectsData
		if e.DecodeData(&d) != nil {
			break
		}
		return fmt.Sprintf("suspects %s..%s: %s, %s, +%d -%d", d.Good, d.Bad, plural(d.Units, "change"), plural(d.Files, "file"), d.Added, d.Deleted)
	}
	if e.Message != "" {
		return string(e.Kind) + ": " + e.Message
	}
	return string(e.Kind)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

var plural = text.Plural
