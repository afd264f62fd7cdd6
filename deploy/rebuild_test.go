package deploy

import (
	"errors"
	"testing"

	"github.com/lkg-dev/lkg/finder"
	"github.com/lkg-dev/lkg/internal/errs"
)

func TestRebuildGood(t *testing.T) {
	v1 := finder.Good{Tag: "v1", Commit: "c1"}
	v2 := finder.Good{Tag: "v2", Commit: "c2"}
	tests := []struct {
		name string
		res  finder.Result
		want string // tag; "" for errs.ErrNothingGood
	}{
		{"no candidates", finder.Result{}, ""},
		{"newest candidate", finder.Result{Good: []finder.Good{v2, v1}}, "v2"},
		{"the best build's good tag", finder.Result{Good: []finder.Good{v2, v1}, Best: &finder.Build{GoodTag: "v1"}}, "v1"},
	}
	for _, tt := range tests {
		got, err := rebuildGood(tt.res)
		if tt.want == "" {
			if !errors.Is(err, errs.ErrNothingGood) {
				t.Errorf("%s: rebuildGood = %v, %v; want errs.ErrNothingGood", tt.name, got, err)
			}
			continue
		}
		if err != nil || got.Tag != tt.want {
			t.Errorf("%s: rebuildGood = %v, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}
