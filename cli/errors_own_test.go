package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/internal/errs"
)

// TestDescribeOwnCodeWins: an error that carries its own exit code and
// hint (an interrupted deploy whose read-back found the registry gone)
// keeps both; the table adds no second hint.
func TestDescribeOwnCodeWins(t *testing.T) {
	err := errs.Coded(130, fmt.Errorf("interrupted: reading back: %w", artifacts.ErrUnreachable), "It holds A or B")
	line, code := describe(err, true)
	if code != 130 {
		t.Errorf("exit code %d, want the error's own 130", code)
	}
	if strings.Count(line, ". ") > 1 || strings.Contains(line, "Check the registry address") {
		t.Errorf("line %q carries a second hint", line)
	}
}
