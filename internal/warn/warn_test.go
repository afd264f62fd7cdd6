package warn

import (
	"fmt"
	"slices"
	"testing"
)

func TestSetSummarisesEachKind(t *testing.T) {
	s := New(2)
	for i := 9; i >= 0; i-- { // the order they come in does not matter
		s.Addf("tag %d names an unknown revision", i)
	}
	s.Addf("tag %d names an unknown revision", 3) // a repeat counts once
	s.Addf("image %s has junk", "b")
	s.Addf("image %s has junk", "a")
	got := s.List()
	want := []string{
		"image a has junk",
		"image b has junk",
		"tag 0 names an unknown revision",
		"tag 1 names an unknown revision",
		"… and 8 more like the one above",
	}
	if !slices.Equal(got, want) {
		t.Errorf("List() =\n%q\nwant\n%q", got, want)
	}
	if got := s.Len(); got != 12 {
		t.Errorf("Len() = %d, want 12", got)
	}
}

func TestSetInterleavedKinds(t *testing.T) {
	s := New(1)
	s.Add("x", "b1")
	s.Add("x", "b2")
	s.Add("y", "a1")
	s.Add("y", "c1")
	got := s.List()
	want := []string{"a1", More(1), "b1", More(1)}
	if !slices.Equal(got, want) {
		t.Errorf("List() = %q, want %q", got, want)
	}
}

func TestSetEmpty(t *testing.T) {
	if got := New(0).List(); got == nil || len(got) != 0 {
		t.Errorf("List() of an empty set = %#v, want an empty non-nil slice", got)
	}
}

func TestCap(t *testing.T) {
	var ws []string
	for i := range 10 {
		ws = append(ws, fmt.Sprint(i))
	}
	if got := Cap(ws, 10); !slices.Equal(got, ws) {
		t.Errorf("Cap(10 lines, 10) = %q", got)
	}
	got := Cap(ws, 4)
	want := []string{"0", "1", "2", "… and 7 more warnings"}
	if !slices.Equal(got, want) {
		t.Errorf("Cap(10 lines, 4) = %q, want %q", got, want)
	}
}

func BenchmarkSet100k(b *testing.B) {
	for b.Loop() {
		s := New(PerKind)
		for i := range 100_000 {
			s.Addf("tag sha-%040x of reg/app records revision %040x, which is not in the repository", i, i)
		}
		_ = s.List()
	}
}
