package journal

import (
	"encoding/json"
	"fmt"
)

// FindData is the Data of a find event.
type FindData struct {
	GoodTag string `json:"good_tag"`
	Best    string `json:"best"` // "image@digest", or "" when no build was found
	Builds  int    `json:"builds"`
	Sources int    `json:"sources"`
}

// DeployData is the Data of a deploy or undo event.
type DeployData struct {
	Target   string `json:"target"`   // "host/repo:tag"
	Previous string `json:"previous"` // the digest the target had before, "" if none
	Digest   string `json:"digest"`   // the digest the target was moved to
	Build    string `json:"build"`    // what was deployed, "image@digest" or a commit
	Method   string `json:"method"`   // "copy", "push", "rebuild", ...
	Status   string `json:"status"`   // "done", "failed", "dry-run", ...
	Error    string `json:"error,omitempty"`
}

// VerifyData is the Data of a verify event.
type VerifyData struct {
	URL       string `json:"url"`
	OK        bool   `json:"ok"`
	Status    int    `json:"status"`
	ElapsedMS int64  `json:"elapsed_ms"`
}

// NewEvent builds an event of kind with message and data (any value that
// encodes to a JSON object, typically FindData, DeployData or VerifyData;
// nil for none).
func NewEvent(kind, message string, data any) (Event, error) {
	e := Event{Kind: kind, Message: message}
	if data != nil {
		raw, err := json.Marshal(data)
		if err != nil {
			return e, fmt.Errorf("encoding %s data: %w", kind, err)
		}
		e.Data = raw
	}
	return e, nil
}

// DecodeData decodes the event's Data into v. An event without Data leaves
// v untouched.
func (e Event) DecodeData(v any) error {
	if len(e.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decoding %s data: %w", e.Kind, err)
	}
	return nil
}
