package packfile

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// CommitHeader is what lkg reads of a commit object: its headers and where
// the message starts. Author and Committer are the raw header values
// ("Name <email> 1700000000 +0100") and Message the rest of the object;
// they point into the parsed data.
type CommitHeader struct {
	Tree      plumbing.Hash
	HasTree   bool
	Parents   []plumbing.Hash
	Author    []byte
	Committer []byte
	Message   []byte
}

// ParseCommit parses a commit object's content into c, reusing c.Parents.
// It is the one commit parser of the commit table and of suspects, and
// skips go-git's decoder, which hashes the object again. Only malformed
// tree and parent lines are errors.
func ParseCommit(data []byte, c *CommitHeader) error {
	*c = CommitHeader{Parents: c.Parents[:0]}
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			nl = len(data)
		}
		line := data[:nl]
		if nl < len(data) {
			data = data[nl+1:]
		} else {
			data = nil
		}
		if len(line) == 0 {
			c.Message = data
			return nil
		}
		key, val, _ := bytes.Cut(line, []byte{' '})
		switch string(key) {
		case "tree":
			if !parseHash(val, &c.Tree) {
				return errors.New("bad tree line")
			}
			c.HasTree = true
		case "parent":
			var p plumbing.Hash
			if !parseHash(val, &p) {
				return errors.New("bad parent line")
			}
			c.Parents = append(c.Parents, p)
		case "author":
			c.Author = val
		case "committer":
			c.Committer = val
		}
	}
	return nil
}

// CommitTime is the committer time in unix seconds; 0 when absent.
func (c *CommitHeader) CommitTime() int64 {
	// "Name <email> 1700000000 +0100"
	gt := bytes.LastIndexByte(c.Committer, '>')
	if gt < 0 {
		return 0
	}
	f := bytes.Fields(c.Committer[gt+1:])
	if len(f) == 0 {
		return 0
	}
	t, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return t
}

func parseHash(s []byte, h *plumbing.Hash) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.Decode(h[:], s)
	return err == nil
}
