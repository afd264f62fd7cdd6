package radix

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 100, 10000} {
		for _, mask := range []uint64{0xff, 0xffff_0000, ^uint64(0)} {
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = rng.Uint64() & mask
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			Sort(keys)
			if !slices.Equal(keys, want) {
				t.Errorf("n=%d mask=%x: not sorted like slices.Sort", n, mask)
			}
		}
	}
}
