package finder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/types"
)

const reg = "registry.test/app"

var (
	day = func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }

	// v2 is the newest good tag, v1 the one before it.
	cV2     = types.Commit{Hash: hashOf("v2"), Tree: hashOf("tree-v2"), Time: day(20)}
	cV1     = types.Commit{Hash: hashOf("v1"), Tree: hashOf("tree-v1"), Time: day(10)}
	cRebase = types.Commit{Hash: hashOf("v2 rebased"), Tree: cV2.Tree, Time: day(21)} // same code as v2
	cOther  = types.Commit{Hash: hashOf("other"), Tree: hashOf("tree-other"), Time: day(22)}
	// Two commits sharing a 7-digit prefix, so "abcdef1" is ambiguous.
	cAmbig1 = types.Commit{Hash: "abcdef1" + hashOf("a1")[7:], Tree: hashOf("ta1"), Time: day(5)}
	cAmbig2 = types.Commit{Hash: "abcdef1" + hashOf("a2")[7:], Tree: hashOf("ta2"), Time: day(6)}

	goodV2 = Good{Tag: "v2", Commit: cV2.Hash, Tree: cV2.Tree, Time: day(20)}
	goodV1 = Good{Tag: "v1", Commit: cV1.Hash, Tree: cV1.Tree, Time: day(10)}
	goods  = []Good{goodV2, goodV1}

	unknownRev = hashOf("not in any repository")
)

func commits() *fakeCommits {
	return newFakeCommits(cV2, cV1, cRebase, cOther, cAmbig1, cAmbig2)
}

// registryOf builds a fake registry from artifacts; tags lists extra tags
// with no artifact (Inspect fails on them).
func registryOf(arts ...types.Artifact) *fakeRegistry {
	r := &fakeRegistry{name: reg, arts: map[string]types.Artifact{}}
	for _, a := range arts {
		for _, t := range a.Tags {
			r.tags = append(r.tags, t)
			r.arts[t] = a
		}
	}
	return r
}

// withTags puts one artifact under several tags (the same digest).
func withTags(a types.Artifact, tags ...string) types.Artifact {
	a.Tags = tags
	return a
}

// brief is the part of a Build the table tests compare.
type brief struct {
	Image    string
	Match    Match
	GoodTag  string
	Revision string
	Tags     string // comma-joined
	RankTime time.Time
	Dirty    bool
	Source   types.Source
}

func briefs(bs []Build) []brief {
	out := []brief{}
	for _, b := range bs {
		out = append(out, brief{b.Image, b.Match, b.GoodTag, b.Revision, strings.Join(b.Tags, ","), b.RankTime, b.Dirty, b.Source})
	}
	return out
}

func TestFind(t *testing.T) {
	short := func(c types.Commit) string { return c.Hash[:7] }
	tests := []struct {
		name      string
		arts      []types.Artifact
		local     []types.Artifact
		opts      Options
		want      []brief
		wantWarn  []string // each must be in exactly one warning; no others allowed
		inspected []string // when set, exactly these tags were inspected
	}{
		{
			name: "exact by label, pinned by name",
			arts: []types.Artifact{art(reg, "sha-"+short(cV2), "b1", cV2.Hash, day(20))},
			want: []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: day(20), Source: types.SourceRegistry}},
		},
		{
			name: "exact by name only",
			arts: []types.Artifact{art(reg, "sha-"+cV1.Hash, "b1", "", day(11))},
			want: []brief{{Image: reg + ":sha-" + cV1.Hash, Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "sha-" + cV1.Hash, RankTime: day(11), Source: types.SourceRegistry}},
		},
		{
			name: "tree match on a rebased commit",
			arts: []types.Artifact{art(reg, "main-"+short(cRebase), "b1", cRebase.Hash, day(21))},
			want: []brief{{Image: reg + ":main-" + short(cRebase), Match: MatchTree, GoodTag: "v2", Revision: cRebase.Hash, Tags: "main-" + short(cRebase), RankTime: day(21), Source: types.SourceRegistry}},
		},
		{
			name: "a CI build before lkg's own newer staging build of the same code",
			arts: []types.Artifact{
				art(reg, "lkg-0123456789ab", "staged", cV2.Hash, day(25)),
				art(reg, "sha-"+short(cV2), "ci", cV2.Hash, day(20)),
			},
			want: []brief{
				{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: day(20), Source: types.SourceRegistry},
				{Image: reg + ":lkg-0123456789ab", Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "lkg-0123456789ab", RankTime: day(25), Source: types.SourceRegistry},
			},
		},
		{
			name:     "tag match when nothing records a revision",
			arts:     []types.Artifact{art(reg, "v1", "b1", "", day(10))},
			want:     []brief{{Image: reg + ":v1", Match: MatchTag, GoodTag: "v1", Tags: "v1", RankTime: day(10), Source: types.SourceRegistry}},
			wantWarn: []string{"image " + reg + ":v1 matched good tag v1 by tag name only"},
		},
		{
			name:     "1980 creation time ranks by commit time",
			arts:     []types.Artifact{art(reg, "sha-"+short(cV2), "b1", cV2.Hash, time.Date(1980, 1, 1, 0, 0, 1, 0, time.UTC))},
			want:     []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: cV2.Time, Source: types.SourceRegistry}},
			wantWarn: []string{"has creation time 1980-01-01T00:00:01Z (pinned by a reproducible build); ranked by its commit time 2026-11-20T12:00:00Z"},
		},
		{
			name:     "epoch creation time ranks by commit time",
			arts:     []types.Artifact{art(reg, "sha-"+short(cV2), "b1", cV2.Hash, time.Unix(0, 0))},
			want:     []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: cV2.Time, Source: types.SourceRegistry}},
			wantWarn: []string{"has creation time 1970-01-01T00:00:00Z"},
		},
		{
			name:     "no creation time ranks by commit time",
			arts:     []types.Artifact{art(reg, "sha-"+short(cV2), "b1", cV2.Hash, time.Time{})},
			want:     []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: cV2.Time, Source: types.SourceRegistry}},
			wantWarn: []string{"records no creation time"},
		},
		{
			name:     "dirty label",
			arts:     []types.Artifact{art(reg, "sha-"+short(cV2)+"-dirty", "b1", cV2.Hash+"-dirty", day(20))},
			want:     []brief{{Image: reg + ":sha-" + short(cV2) + "-dirty", Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2) + "-dirty", RankTime: day(20), Dirty: true, Source: types.SourceRegistry}},
			wantWarn: []string{"built from revision " + cV2.Hash + " with uncommitted changes"},
		},
		{
			name:     "dirty name, no label",
			arts:     []types.Artifact{art(reg, "sha-"+short(cV1)+"-dirty", "b1", "", day(10))},
			want:     []brief{{Image: reg + ":sha-" + short(cV1) + "-dirty", Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "sha-" + short(cV1) + "-dirty", RankTime: day(10), Dirty: true, Source: types.SourceRegistry}},
			wantWarn: []string{"uncommitted changes (-dirty)"},
		},
		{
			name: "label and name disagree: the label wins",
			// The name says v1 (so it is inspected), the label says v2.
			arts:     []types.Artifact{art(reg, "sha-"+short(cV1), "b1", cV2.Hash, day(20))},
			want:     []brief{{Image: reg + ":sha-" + short(cV1), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV1), RankTime: day(20), Source: types.SourceRegistry}},
			wantWarn: []string{"label " + LabelOCIRevision + " records revision " + cV2.Hash + " but tag sha-" + short(cV1) + " names " + short(cV1) + "; the label wins"},
		},
		{
			name:     "label names a commit that is not a good one",
			arts:     []types.Artifact{art(reg, "sha-"+short(cV1), "b1", cOther.Hash, day(20))},
			want:     []brief{},
			wantWarn: []string{"the label wins"},
		},
		{
			name:      "unknown label revision is dropped with a warning",
			arts:      []types.Artifact{art(reg, "latest", "b1", unknownRev, day(20))},
			want:      []brief{},
			wantWarn:  []string{"image " + reg + ":latest records revision " + unknownRev + " (label " + LabelOCIRevision + "), which is not in the repository or its remotes"},
			inspected: []string{"latest"},
		},
		{
			name:      "unknown sha- name is warned about once and not inspected",
			arts:      []types.Artifact{art(reg, "sha-"+unknownRev, "b1", "", day(20)), art(reg, "sha-"+unknownRev+"-dirty", "b2", "", day(20))},
			want:      []brief{},
			wantWarn:  []string{"tag sha-" + unknownRev + " (and 1 more) of " + reg + " records revision " + unknownRev + ", which is not in the repository or its remotes"},
			inspected: []string{},
		},
		{
			name:      "unknown short sha- name is warned about too",
			arts:      []types.Artifact{art(reg, "sha-"+unknownRev[:7], "b1", "", day(20))},
			want:      []brief{},
			wantWarn:  []string{"tag sha-" + unknownRev[:7] + " of " + reg + " records revision " + unknownRev[:7]},
			inspected: []string{},
		},
		{
			name:      "8-digit date tag is inspected, not warned about",
			arts:      []types.Artifact{art(reg, "release-20261101", "b1", cV1.Hash, day(10))},
			want:      []brief{{Image: reg + ":release-20261101", Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "release-20261101", RankTime: day(10), Source: types.SourceRegistry}},
			inspected: []string{"release-20261101"},
		},
		{
			name: "junk label is reported and a later good one used",
			arts: []types.Artifact{func() types.Artifact {
				a := art(reg, "latest", "b1", "", day(10))
				a.Labels = map[string]string{LabelOCIRevision: "unknown", LabelVCSRef: cV1.Hash}
				return a
			}()},
			want:     []brief{{Image: reg + ":latest", Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "latest", RankTime: day(10), Source: types.SourceRegistry}},
			wantWarn: []string{`image ` + reg + `:latest: label ` + LabelOCIRevision + ` has junk value "unknown", ignored`},
		},
		{
			name: "junk label alone: no revision, tag match still possible",
			arts: []types.Artifact{func() types.Artifact {
				a := art(reg, "v2", "b1", "", day(20))
				a.Labels = map[string]string{LabelVCSRef: "HEAD"}
				return a
			}()},
			want:     []brief{{Image: reg + ":v2", Match: MatchTag, GoodTag: "v2", Tags: "v2", RankTime: day(20), Source: types.SourceRegistry}},
			wantWarn: []string{`has junk value "head"`, "by tag name only"},
		},
		{
			name:      "ambiguous short name is inspected and ignored",
			arts:      []types.Artifact{art(reg, "sha-abcdef1", "b1", "", day(10))},
			want:      []brief{},
			wantWarn:  []string{"tag sha-abcdef1 names abbreviated revision abcdef1, which names more than one commit"},
			inspected: []string{"sha-abcdef1"},
		},
		{
			name:      "ambiguous short name, label decides",
			arts:      []types.Artifact{art(reg, "sha-abcdef1", "b1", cV1.Hash, day(10))},
			want:      []brief{{Image: reg + ":sha-abcdef1", Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "sha-abcdef1", RankTime: day(10), Source: types.SourceRegistry}},
			inspected: []string{"sha-abcdef1"},
		},
		{
			name:     "ambiguous short label is dropped with a warning",
			arts:     []types.Artifact{art(reg, "latest", "b1", "abcdef1", day(10))},
			want:     []brief{},
			wantWarn: []string{"records abbreviated revision abcdef1 (label " + LabelOCIRevision + "), which names more than one commit"},
		},
		{
			name: "names of other commits are not inspected",
			arts: []types.Artifact{
				art(reg, "sha-"+short(cOther), "b1", cOther.Hash, day(22)),
				art(reg, "sha-"+short(cV2), "b2", cV2.Hash, day(20)),
			},
			want:      []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: day(20), Source: types.SourceRegistry}},
			inspected: []string{"sha-" + short(cV2)},
		},
		{
			name: "VerifyAll inspects every tag and catches a lying name",
			arts: []types.Artifact{
				// The name says another commit, the label says v2.
				art(reg, "sha-"+short(cOther), "b1", cV2.Hash, day(22)),
				art(reg, "sha-"+unknownRev, "b2", "", day(20)),
			},
			opts: Options{VerifyAll: true},
			want: []brief{{Image: reg + ":sha-" + short(cOther), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cOther), RankTime: day(22), Source: types.SourceRegistry}},
			wantWarn: []string{
				"the label wins",
				"image " + reg + ":sha-" + unknownRev + " records revision " + unknownRev + " in tag sha-" + unknownRev + ", which is not in the repository or its remotes",
			},
			inspected: []string{"sha-" + short(cOther), "sha-" + unknownRev},
		},
		{
			name: "an Inspect error is a warning and the scan goes on",
			arts: []types.Artifact{
				art(reg, "sha-"+short(cV2), "b1", cV2.Hash, day(20)),
				art(reg, "sha-"+short(cV1), "b2", cV1.Hash, day(10)),
			},
			want:     []brief{{Image: reg + ":sha-" + short(cV1), Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "sha-" + short(cV1), RankTime: day(10), Source: types.SourceRegistry}},
			wantWarn: []string{"skipped " + reg + ":sha-" + short(cV2) + ": malformed manifest"},
		},
		{
			name: "one build per digest with every tag; image named by its revision tag",
			arts: []types.Artifact{withTags(art(reg, "x", "b1", cV2.Hash, day(20)), "latest", "v2", "sha-"+short(cV2), "prod")},
			want: []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "latest,prod,sha-" + short(cV2) + ",v2", RankTime: day(20), Source: types.SourceRegistry}},
		},
		{
			name: "same digest, no revision tag: image named by the good tag",
			arts: []types.Artifact{withTags(art(reg, "x", "b1", cV1.Hash, day(10)), "latest", "v1")},
			want: []brief{{Image: reg + ":v1", Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "latest,v1", RankTime: day(10), Source: types.SourceRegistry}},
		},
		{
			name: "cosign signature tags are not inspected",
			arts: []types.Artifact{
				art(reg, "sha-"+short(cV2), "b1", cV2.Hash, day(20)),
				art(reg, "sha256-"+hashOf("b1")+hashOf("b1")[:24]+".sig", "sig", "", day(20)),
			},
			want:      []brief{{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: day(20), Source: types.SourceRegistry}},
			inspected: []string{"sha-" + short(cV2)},
		},
		{
			name: "ranking: newest good first, then strength, then time",
			arts: []types.Artifact{
				art(reg, "sha-"+short(cV1), "b1", cV1.Hash, day(25)),          // v1 exact, newest build
				art(reg, "main-"+short(cRebase), "b2", cRebase.Hash, day(21)), // v2 tree
				art(reg, "sha-"+short(cV2), "b3", cV2.Hash, day(20)),          // v2 exact, old
				art(reg, "v2-"+short(cV2), "b4", cV2.Hash, day(23)),           // v2 exact, newer
			},
			want: []brief{
				{Image: reg + ":v2-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "v2-" + short(cV2), RankTime: day(23), Source: types.SourceRegistry},
				{Image: reg + ":sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "sha-" + short(cV2), RankTime: day(20), Source: types.SourceRegistry},
				{Image: reg + ":main-" + short(cRebase), Match: MatchTree, GoodTag: "v2", Revision: cRebase.Hash, Tags: "main-" + short(cRebase), RankTime: day(21), Source: types.SourceRegistry},
				{Image: reg + ":sha-" + short(cV1), Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "sha-" + short(cV1), RankTime: day(25), Source: types.SourceRegistry},
			},
		},
		{
			name: "local images: labels, then names, then tag",
			local: []types.Artifact{
				{Source: types.SourceDocker, Image: "app:dev", Digest: "sha256:aaa", Tags: []string{"app:dev"}, Labels: map[string]string{LabelVCSRef: cV1.Hash}, Created: day(12)},
				{Source: types.SourceDocker, Image: "localhost:5000/app:sha-" + short(cV2), Digest: "sha256:bbb", Tags: []string{"localhost:5000/app:sha-" + short(cV2)}, Created: day(20)},
				{Source: types.SourceDocker, Image: "app:v1", Digest: "sha256:ccc", Tags: []string{"app:v1"}, Created: day(9)},
				{Source: types.SourceDocker, Image: "app:other", Digest: "sha256:ddd", Tags: []string{"app:other"}, Labels: map[string]string{LabelOCIRevision: cOther.Hash}, Created: day(22)},
			},
			want: []brief{
				{Image: "localhost:5000/app:sha-" + short(cV2), Match: MatchExact, GoodTag: "v2", Revision: cV2.Hash, Tags: "localhost:5000/app:sha-" + short(cV2), RankTime: day(20), Source: types.SourceDocker},
				{Image: "app:dev", Match: MatchExact, GoodTag: "v1", Revision: cV1.Hash, Tags: "app:dev", RankTime: day(12), Source: types.SourceDocker},
				{Image: "app:v1", Match: MatchTag, GoodTag: "v1", Tags: "app:v1", RankTime: day(9), Source: types.SourceDocker},
			},
			wantWarn: []string{"image app:v1 matched good tag v1 by tag name only"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registryOf(tt.arts...)
			if tt.name == "an Inspect error is a warning and the scan goes on" {
				r.inspectErr = map[string]error{"sha-" + short(cV2): errors.New("malformed manifest")}
			}
			regs := []Registry{r}
			if len(tt.arts) == 0 {
				regs = nil
			}
			res := mustFind(t, goods, commits(), regs, tt.local, tt.opts)

			if got := briefs(res.Builds); !slices.Equal(got, tt.want) {
				t.Errorf("builds:\n got %+v\nwant %+v", got, tt.want)
			}
			checkWarnings(t, res.Warnings, tt.wantWarn)
			if tt.inspected != nil {
				got := slices.Sorted(mapKeys(r.inspectedTags()))
				want := slices.Sorted(slices.Values(tt.inspected))
				if !slices.Equal(got, want) {
					t.Errorf("inspected %q, want %q", got, want)
				}
			}
			if len(res.Builds) > 0 && (res.Best == nil || res.Best.Image != res.Builds[0].Image) {
				t.Errorf("Best = %+v, want the first build", res.Best)
			}
			if len(res.Builds) == 0 && res.Best != nil {
				t.Errorf("Best = %+v, want nil", res.Best)
			}
		})
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkWarnings wants each substring in exactly one warning and no warning
// left over.
func checkWarnings(t *testing.T, got, want []string) {
	t.Helper()
	used := make([]bool, len(got))
	for _, w := range want {
		n := 0
		for i, g := range got {
			if strings.Contains(g, w) {
				n++
				used[i] = true
			}
		}
		if n != 1 {
			t.Errorf("warning %q found %d times in %q", w, n, got)
		}
	}
	for i, g := range got {
		if !used[i] {
			t.Errorf("unexpected warning %q", g)
		}
	}
	if !slices.IsSorted(got) {
		t.Errorf("warnings not sorted: %q", got)
	}
}

// TestFindInspectsOnlyCandidates: of 1000 sha- tags, only the 3 that could
// match and the tags whose names say nothing are read, with one Lookup.
func TestFindInspectsOnlyCandidates(t *testing.T) {
	var all []types.Commit
	r := &fakeRegistry{name: reg, arts: map[string]types.Artifact{}}
	for i := range 1000 {
		c := types.Commit{Hash: hashOf(fmt.Sprint("commit", i)), Tree: hashOf(fmt.Sprint("tree", i)), Time: day(1)}
		all = append(all, c)
		tag := "sha-" + c.Hash[:7]
		r.tags = append(r.tags, tag)
		r.arts[tag] = art(reg, tag, tag, c.Hash, day(1))
	}
	matching := []types.Commit{cV2, cRebase, cV1}
	all = append(all, matching...)
	var want []string
	for i, c := range matching {
		tag := "sha-" + c.Hash
		r.tags = append(r.tags, tag)
		r.arts[tag] = art(reg, tag, fmt.Sprint("m", i), c.Hash, day(20))
		want = append(want, tag)
	}
	for _, tag := range []string{"latest", "prod", "v1", "release-20261101"} {
		r.tags = append(r.tags, tag)
		r.arts[tag] = art(reg, tag, tag, "", day(3))
		want = append(want, tag)
	}
	cs := newFakeCommits(all...)

	res := mustFind(t, goods, cs, []Registry{r}, nil, Options{})

	got := slices.Sorted(mapKeys(r.inspectedTags()))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("inspected %q, want %q", got, want)
	}
	if got, want := r.inspectCount(), len(want); got != want {
		t.Errorf("Inspect called %d times, want %d", got, want)
	}
	for tag, pinned := range r.inspectedTags() {
		if wantPinned := strings.HasPrefix(tag, "sha-"); pinned != wantPinned {
			t.Errorf("tag %s inspected with pinned=%v, want %v", tag, pinned, wantPinned)
		}
	}
	if got := cs.lookupCalls(); got != 1 {
		t.Errorf("Lookup called %d times, want 1 (batched)", got)
	}
	if got := len(res.Builds); got != 4 { // 3 by revision, v1 by tag name
		t.Errorf("got %d builds, want 4: %+v", got, briefs(res.Builds))
	}
}

// TestFindSecondLookupForLabels: revisions only labels record are resolved
// in one more batched call.
func TestFindSecondLookupForLabels(t *testing.T) {
	r := registryOf(
		art(reg, "latest", "b1", cV2.Hash, day(20)),
		art(reg, "prod", "b2", cV1.Hash, day(10)),
		art(reg, "sha-"+cOther.Hash[:7], "b3", cOther.Hash, day(22)),
	)
	cs := commits()
	res := mustFind(t, goods, cs, []Registry{r}, nil, Options{})
	if got := cs.lookupCalls(); got != 2 {
		t.Errorf("Lookup called %d times, want 2", got)
	}
	if got, want := cs.asked[1], []string{cV1.Hash, cV2.Hash}; !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("second Lookup asked %q, want %q", got, want)
	}
	if got := len(res.Builds); got != 2 {
		t.Errorf("got %d builds, want 2", got)
	}
}

// TestFindLookupHints: Lookup learns the oldest good commit's time and,
// for revisions read from labels, how new the newest build recording each
// is; revisions named only in tags come without an age.
func TestFindLookupHints(t *testing.T) {
	r := registryOf(
		art(reg, "latest", "b1", unknownRev, day(25)),
		art(reg, "again", "b2", unknownRev, day(23)),
		art(reg, "sha-"+cOther.Hash[:7], "b3", "", day(22)),
	)
	cs := commits()
	old := goodV1
	old.CommitTime = day(9) // committed a day before its tag
	mustFind(t, []Good{goodV2, old}, cs, []Registry{r}, nil, Options{})
	if len(cs.hints) != 2 {
		t.Fatalf("Lookup called %d times, want 2", len(cs.hints))
	}
	for i, h := range cs.hints {
		if !h.Since.Equal(day(9)) {
			t.Errorf("Lookup %d: Since = %v, want the oldest good commit's time %v", i, h.Since, day(9))
		}
	}
	if _, ok := cs.hints[0].Created[cOther.Hash[:7]]; ok {
		t.Errorf("first Lookup: a revision named only in a tag has an age: %v", cs.hints[0].Created)
	}
	if got := cs.hints[1].Created[unknownRev]; !got.Equal(day(25)) {
		t.Errorf("second Lookup: Created[unknown] = %v, want the newest build's %v", got, day(25))
	}
}

func TestFindRegistryError(t *testing.T) {
	good := registryOf(art(reg, "sha-"+cV2.Hash[:7], "b1", cV2.Hash, day(20)))
	denied := &fakeRegistry{name: "registry.test/private", tagsErr: errors.New("401 Unauthorized")}
	res, err := Find(context.Background(), goods, commits(), []Registry{denied, good}, nil, Options{})
	var re *RegistryError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *RegistryError", err)
	}
	if re.Registry != "registry.test/private" || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Errorf("err = %v (registry %q), want it to name registry.test/private and the cause", err, re.Registry)
	}
	if len(res.Builds) != 1 {
		t.Errorf("the other registry's builds are kept: got %d, want 1", len(res.Builds))
	}
}

func TestFindCancel(t *testing.T) {
	tests := []struct {
		name string
		hang bool // Inspect ignores ctx: Find must not wait for it
	}{
		{name: "inspect honours ctx"},
		{name: "inspect ignores ctx", hang: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registryOf(
				art(reg, "latest", "b1", "", day(1)),
				art(reg, "prod", "b2", "", day(1)),
				art(reg, "v1", "b3", "", day(1)),
			)
			r.started = make(chan struct{}, len(r.tags))
			r.block = !tt.hang
			r.hang = tt.hang
			r.release = make(chan struct{})
			defer close(r.release)

			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				<-r.started
				cancel()
			}()
			res, err := Find(ctx, goods, commits(), []Registry{r}, nil, Options{Workers: 2})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if len(res.Builds) != 0 {
				t.Errorf("builds after cancel: %+v", res.Builds)
			}
			// With 2 workers at most 2 inspections ever start.
			if got := r.inspectCount(); got > 2 {
				t.Errorf("%d inspections started after cancel, want at most 2", got)
			}
		})
	}
}

func TestFindWorkersBound(t *testing.T) {
	// Every Inspect blocks; with Workers 3 exactly 3 start before cancel.
	var arts []types.Artifact
	for i := range 10 {
		arts = append(arts, art(reg, fmt.Sprint("t", i), fmt.Sprint("b", i), "", day(1)))
	}
	r := registryOf(arts...)
	r.block = true
	r.started = make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for range 3 {
			<-r.started
		}
		cancel()
	}()
	_, err := Find(ctx, goods, commits(), []Registry{r}, nil, Options{Workers: 3})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if got := r.inspectCount(); got != 3 {
		t.Errorf("%d inspections started, want 3 (the pool size)", got)
	}
}

func TestFindProgress(t *testing.T) {
	r := registryOf(
		art(reg, "latest", "b1", "", day(1)),
		art(reg, "prod", "b2", "", day(1)),
		art(reg, "sha-"+cV2.Hash[:7], "b3", cV2.Hash, day(1)),
		art(reg, "sha-"+cOther.Hash[:7], "b4", cOther.Hash, day(1)), // not inspected
	)
	var got [][2]int
	mustFind(t, goods, commits(), []Registry{r}, nil, Options{Progress: func(done, total int) {
		got = append(got, [2]int{done, total})
	}})
	// The two tags naming no revision are read while git answers, so how
	// many are done at the first call varies; the count only grows, the
	// total is every inspection, and the last call says all are done.
	if len(got) == 0 || got[len(got)-1] != [2]int{3, 3} {
		t.Fatalf("progress calls %v, want them to end with [3 3]", got)
	}
	for i, c := range got {
		if c[1] != 3 || i > 0 && c[0] < got[i-1][0] {
			t.Errorf("progress calls %v: call %d is not a growing count of 3", got, i)
		}
	}
	if got[0][0] > 2 {
		t.Errorf("progress calls %v: the first came after the last inspection", got)
	}
}

// TestFindEmptyJSON: an empty result prints [] and null, never null lists.
func TestFindEmptyJSON(t *testing.T) {
	res := mustFind(t, nil, commits(), nil, nil, Options{})
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"good":[],"bad":null,"best":null,"builds":[],"sources":[],"warnings":[],"incomplete":false}`
	if got := string(b); got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
}

func TestIsStagingTag(t *testing.T) {
	tests := []struct {
		tag  string
		want bool
	}{
		{"lkg-0123456789ab", true},
		{"lkg-0123456789", false},
		{"lkg-0123456789abcd", false},
		{"lkg-0123456789AB", false},
		{"sha-0123456789ab", false},
		{"lkg-", false},
	}
	for _, tt := range tests {
		if got := IsStagingTag(tt.tag); got != tt.want {
			t.Errorf("IsStagingTag(%q) = %v, want %v", tt.tag, got, tt.want)
		}
	}
}

func TestRankBuilds(t *testing.T) {
	epoch := time.Unix(0, 0)
	tests := []struct {
		name   string
		builds []Build
		want   []string // images in order
	}{
		{
			name: "good order beats strength and time",
			builds: []Build{
				{Image: "old-good-exact", GoodTag: "v1", Match: MatchExact, RankTime: day(30)},
				{Image: "new-good-tag", GoodTag: "v2", Match: MatchTag, RankTime: day(1)},
			},
			want: []string{"new-good-tag", "old-good-exact"},
		},
		{
			name: "strength beats time",
			builds: []Build{
				{Image: "tag", GoodTag: "v2", Match: MatchTag, RankTime: day(30)},
				{Image: "tree", GoodTag: "v2", Match: MatchTree, RankTime: day(20)},
				{Image: "exact", GoodTag: "v2", Match: MatchExact, RankTime: day(10)},
			},
			want: []string{"exact", "tree", "tag"},
		},
		{
			name: "a pin beats time, not strength",
			builds: []Build{
				{Image: "newer", GoodTag: "v2", Match: MatchExact, RankTime: day(30)},
				{Image: "pinned", GoodTag: "v2", Match: MatchExact, RankTime: day(10), Pinned: true},
				{Image: "pinned-tree", GoodTag: "v2", Match: MatchTree, RankTime: day(40), Pinned: true},
			},
			want: []string{"pinned", "newer", "pinned-tree"},
		},
		{
			name: "newest first, then name",
			builds: []Build{
				{Image: "b", GoodTag: "v2", Match: MatchExact, RankTime: day(10)},
				{Image: "a", GoodTag: "v2", Match: MatchExact, RankTime: day(10)},
				{Image: "c", GoodTag: "v2", Match: MatchExact, RankTime: day(11)},
			},
			want: []string{"c", "a", "b"},
		},
		{
			name: "Created when RankTime is unset",
			builds: []Build{
				{Image: "older", GoodTag: "v2", Match: MatchExact, Created: day(1)},
				{Image: "newer", GoodTag: "v2", Match: MatchExact, Created: day(2)},
				{Image: "epoch", GoodTag: "v2", Match: MatchExact, Created: epoch},
			},
			want: []string{"newer", "older", "epoch"},
		},
		{
			name: "CI provenance beats time, not strength",
			builds: []Build{
				{Image: "staged-new", GoodTag: "v2", Match: MatchExact, RankTime: day(30), Staged: true},
				{Image: "ci-old", GoodTag: "v2", Match: MatchExact, RankTime: day(10)},
				{Image: "ci-tree", GoodTag: "v2", Match: MatchTree, RankTime: day(40)},
			},
			want: []string{"ci-old", "staged-new", "ci-tree"},
		},
		{
			name: "unknown good tag last",
			builds: []Build{
				{Image: "stray", GoodTag: "v0", Match: MatchExact, RankTime: day(30)},
				{Image: "v1", GoodTag: "v1", Match: MatchTag, RankTime: day(1)},
			},
			want: []string{"v1", "stray"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			RankBuilds(tt.builds, goods)
			var got []string
			for _, b := range tt.builds {
				got = append(got, b.Image)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("order %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLocalTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"app:v1", "v1"},
		{"localhost:5000/app:sha-abc1234", "sha-abc1234"},
		{"localhost:5000/app", "localhost:5000/app"},
		{"app@sha256:abc", "app"},
		{"v1", "v1"},
	}
	for _, tt := range tests {
		if got := localTag(tt.in); got != tt.want {
			t.Errorf("localTag(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// BenchmarkFind scans one registry of 20,000 tags (in memory, no sleeps)
// against three goods: 19,990 name other commits, 10 could match.
func BenchmarkFind(b *testing.B) {
	const n = 20000
	var cs []types.Commit
	r := &fakeRegistry{name: reg, arts: map[string]types.Artifact{}}
	for i := range n {
		var c types.Commit
		switch {
		case i%2000 == 0: // 10 builds of the goods or their trees
			c = []types.Commit{cV2, cRebase, cV1}[i/2000%3]
		default:
			c = types.Commit{Hash: hashOf(fmt.Sprint("c", i)), Tree: hashOf(fmt.Sprint("t", i)), Time: day(1)}
			cs = append(cs, c)
		}
		tag := fmt.Sprintf("main-%d-%s", i, c.Hash[:12])
		r.tags = append(r.tags, tag)
		r.arts[tag] = art(reg, tag, tag, c.Hash, day(1+i%28))
	}
	cs = append(cs, cV2, cV1, cRebase)
	commits := newFakeCommits(cs...)
	// A map-backed Lookup: the fake's prefix scan would dominate.
	byPrefix := map[string]types.Commit{}
	for h, c := range commits.byHash {
		byPrefix[h[:12]] = c
		byPrefix[h] = c
	}
	fast := lookupFunc(func(revs []string) (map[string]types.Commit, map[string]error) {
		found, failed := map[string]types.Commit{}, map[string]error{}
		for _, r := range revs {
			if c, ok := byPrefix[r]; ok {
				found[r] = c
			} else {
				failed[r] = types.ErrUnknownRevision
			}
		}
		return found, failed
	})
	for _, verify := range []bool{false, true} {
		b.Run(fmt.Sprintf("verify-all=%v", verify), func(b *testing.B) {
			before := r.inspectCount()
			for b.Loop() {
				res, err := Find(context.Background(), goods, fast, []Registry{r}, nil, Options{VerifyAll: verify})
				if err != nil || len(res.Builds) != 10 {
					b.Fatalf("Find: %d builds, err %v", len(res.Builds), err)
				}
			}
			// The registry is the bottleneck: requests saved matter more than CPU.
			b.ReportMetric(float64(r.inspectCount()-before)/float64(b.N), "inspects/op")
		})
	}
}

type lookupFunc func(revs []string) (map[string]types.Commit, map[string]error)

func (f lookupFunc) Lookup(_ context.Context, revs []string, _ types.LookupHints) (map[string]types.Commit, map[string]error) {
	return f(revs)
}

// TestFindOneLookupAcrossSources: names from every registry and the local
// images' labels and names go to Lookup in a single batch.
func TestFindOneLookupAcrossSources(t *testing.T) {
	a := registryOf(art(reg, "sha-"+cV2.Hash[:7], "b1", cV2.Hash[:7], day(20)))
	b := registryOf(art("registry.test/mirror", "sha-"+cV1.Hash, "b2", cV1.Hash, day(10)))
	b.name = "registry.test/mirror"
	local := []types.Artifact{{Source: types.SourceDocker, Image: "app:dev", Digest: "sha256:l", Tags: []string{"app:dev"}, Labels: map[string]string{LabelOCIRevision: cRebase.Hash}, Created: day(21)}}
	cs := commits()
	res := mustFind(t, goods, cs, []Registry{a, b}, local, Options{})
	if got := cs.lookupCalls(); got != 1 {
		t.Errorf("Lookup called %d times, want 1; asked %q", got, cs.asked)
	}
	var got []string
	for _, b := range res.Builds {
		got = append(got, b.Image+" "+string(b.Match)+" "+b.GoodTag)
	}
	want := []string{
		reg + ":sha-" + cV2.Hash[:7] + " exact v2",
		"app:dev tree v2",
		"registry.test/mirror:sha-" + cV1.Hash + " exact v1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("builds %q, want %q", got, want)
	}
}

// TestFindFirstGoodWins: a build fits the newest good it can, even when it
// is an exact match for an older one (two tags of the same code).
func TestFindFirstGoodWins(t *testing.T) {
	sameCode := []Good{
		{Tag: "v2.0.1", Commit: cRebase.Hash, Tree: cRebase.Tree, Time: day(21)},
		{Tag: "v2.0.0", Commit: cV2.Hash, Tree: cV2.Tree, Time: day(20)},
	}
	r := registryOf(art(reg, "sha-"+cV2.Hash[:7], "b1", cV2.Hash, day(20)))
	res := mustFind(t, sameCode, commits(), []Registry{r}, nil, Options{})
	if len(res.Builds) != 1 {
		t.Fatalf("got %d builds, want 1", len(res.Builds))
	}
	if got, want := res.Builds[0].GoodTag+" "+string(res.Builds[0].Match), "v2.0.1 tree"; got != want {
		t.Errorf("matched %q, want %q", got, want)
	}
}

func TestMergeLocations(t *testing.T) {
	builds := []Build{
		{Source: types.SourceDocker, Image: "team/app:v2", Digest: "sha256:aa", Tags: []string{"v2"}},
		{Source: types.SourceRegistry, Image: "reg/app:sha-1", Repo: "reg/app", Digest: "sha256:bb", Tags: []string{"sha-1"}},
		{Source: types.SourceRegistry, Image: "reg/app:lkg-0123456789ab", Repo: "reg/app", Digest: "sha256:aa", Tags: []string{"lkg-0123456789ab"}},
		{Source: types.SourceDocker, Image: "0123456789ab", Digest: ""},
		{Source: types.SourceDocker, Image: "fedcba987654", Digest: ""},
	}
	got := MergeLocations(builds)
	if len(got) != 4 {
		t.Fatalf("%d builds, want 4: %+v", len(got), got)
	}
	both := got[0]
	if both.Source != types.SourceRegistry || both.Image != "reg/app:lkg-0123456789ab" || both.Repo != "reg/app" {
		t.Errorf("merged row speaks for %s %s (%s), want the registry copy", both.Source, both.Image, both.Repo)
	}
	wantLocs := []Location{{types.SourceRegistry, "reg/app:lkg-0123456789ab"}, {types.SourceDocker, "team/app:v2"}}
	if !slices.Equal(both.Locations, wantLocs) {
		t.Errorf("locations %v, want %v", both.Locations, wantLocs)
	}
	if want := []string{"lkg-0123456789ab", "v2"}; !slices.Equal(both.Tags, want) {
		t.Errorf("tags %q, want %q", both.Tags, want)
	}
	if len(got[1].Locations) != 1 || got[1].Locations[0].Image != "reg/app:sha-1" {
		t.Errorf("single build's locations %v, want itself", got[1].Locations)
	}
	if got[2].Image == got[3].Image {
		t.Errorf("builds without a digest merged: %+v", got[2:])
	}
}

// TestFindIncomplete: a build that could not be read makes the result
// incomplete only when it could rank at or above the best build read.
func TestFindIncomplete(t *testing.T) {
	short := func(c types.Commit) string { return c.Hash[:7] }
	v2 := art(reg, "sha-"+short(cV2), "b2", cV2.Hash, day(20))
	v2again := art(reg, "sha-"+cV2.Hash, "b2b", cV2.Hash, day(21))
	rebased := art(reg, "main-"+short(cRebase), "b3", cRebase.Hash, day(21))
	v1 := art(reg, "sha-"+short(cV1), "b1", cV1.Hash, day(10))
	latest := art(reg, "latest", "b4", cV1.Hash, day(10))
	unread := fmt.Errorf("%w: connection reset by peer", types.ErrUnread)
	tests := []struct {
		name       string
		arts       []types.Artifact
		failing    map[string]error
		verifyAll  bool
		wantBest   string // tag of the best build; "" for none
		wantUnread []string
	}{
		{"nothing failed", []types.Artifact{v2, v1}, nil, false, v2.Tags[0], nil},
		{"the newest good's build unread", []types.Artifact{v2, v1}, map[string]error{v2.Tags[0]: unread}, false, v1.Tags[0], []string{v2.Tags[0]}},
		{"an older good's build unread", []types.Artifact{v2, v1}, map[string]error{v1.Tags[0]: unread}, false, v2.Tags[0], nil},
		{"malformed is read, not unread", []types.Artifact{v2, v1}, map[string]error{v2.Tags[0]: errors.New("malformed")}, false, v1.Tags[0], nil},
		{"same good and match: could be newer", []types.Artifact{v2, v2again}, map[string]error{v2again.Tags[0]: unread}, false, v2.Tags[0], []string{v2again.Tags[0]}},
		{"a tree match cannot beat an exact one", []types.Artifact{v2, rebased}, map[string]error{rebased.Tags[0]: unread}, false, v2.Tags[0], nil},
		{"a name that says nothing could be anything", []types.Artifact{v2, latest}, map[string]error{"latest": unread}, false, v2.Tags[0], []string{"latest"}},
		{"--verify-all trusts no name", []types.Artifact{v2, v1}, map[string]error{v1.Tags[0]: unread}, true, v2.Tags[0], []string{v1.Tags[0]}},
		{"no best at all", []types.Artifact{v2}, map[string]error{v2.Tags[0]: unread}, false, "", []string{v2.Tags[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := registryOf(tt.arts...)
			r.inspectErr = tt.failing
			res, err := Find(context.Background(), goods, commits(), []Registry{r}, nil, Options{VerifyAll: tt.verifyAll})
			if err != nil {
				t.Fatal(err)
			}
			best := ""
			if res.Best != nil {
				best = res.Best.Tags[0]
			}
			if best != tt.wantBest {
				t.Errorf("best = %q, want %q", best, tt.wantBest)
			}
			var got []string
			for _, u := range res.Unread {
				got = append(got, strings.TrimPrefix(u.Image, reg+":"))
				if !errors.Is(u.Err, types.ErrUnread) {
					t.Errorf("unread %s: error %v does not wrap ErrUnread", u.Image, u.Err)
				}
			}
			if !slices.Equal(got, tt.wantUnread) {
				t.Errorf("unread = %q, want %q", got, tt.wantUnread)
			}
			if res.Incomplete != (len(tt.wantUnread) > 0) {
				t.Errorf("Incomplete = %v with unread %q", res.Incomplete, got)
			}
		})
	}
}

// overlapCommits is a Commits whose first Lookup waits for an inspection
// to start: Find must read the tags naming no revision while git answers.
type overlapCommits struct {
	*fakeCommits
	started <-chan struct{}
	once    sync.Once
	waited  bool
}

func (c *overlapCommits) Lookup(ctx context.Context, revs []string, hints types.LookupHints) (map[string]types.Commit, map[string]error) {
	c.once.Do(func() {
		select {
		case <-c.started:
			c.waited = true
		case <-time.After(10 * time.Second): // guards against a hang, not a duration
		}
	})
	return c.fakeCommits.Lookup(ctx, revs, hints)
}

// TestFindInspectsWhileGitAnswers: the tags whose names record no
// revision are inspected during the Lookup (a fetch, a first scan of the
// object store), not after it; the result is the same.
func TestFindInspectsWhileGitAnswers(t *testing.T) {
	r := registryOf(
		art(reg, "latest", "b1", cV2.Hash, day(3)),
		art(reg, "sha-"+cV2.Hash[:7], "b2", cV2.Hash, day(2)),
	)
	started := make(chan struct{}, 10)
	hooked := &startedRegistry{fakeRegistry: r, started: started}
	c := &overlapCommits{fakeCommits: commits(), started: started}
	res := mustFind(t, goods, c, []Registry{hooked}, nil, Options{})
	if !c.waited {
		t.Fatal("the Lookup ran to its end before any inspection started")
	}
	if res.Best == nil || res.Best.Image != reg+":latest" || len(res.Builds) != 2 {
		t.Errorf("best %+v of %d builds, want %s:latest of 2", res.Best, len(res.Builds), reg)
	}
}

// startedRegistry signals each Inspect as it begins.
type startedRegistry struct {
	*fakeRegistry
	started chan<- struct{}
}

func (r *startedRegistry) Inspect(ctx context.Context, tag string, pinned bool) (types.Artifact, error) {
	select {
	case r.started <- struct{}{}:
	default:
	}
	return r.fakeRegistry.Inspect(ctx, tag, pinned)
}
