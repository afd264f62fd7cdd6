package suspects

import (
	"context"
	"errors"
	"fmt"
	"github.com/lkg-dev/lkg/internal/testenv"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/lkg-dev/lkg/gitops"
)

// testRepo is a scratch repository driven through the git CLI with a
// fixed identity and a clock that ticks a minute per commit.
type testRepo struct {
	tb   testing.TB
	dir  string
	tick int
}

func newTestRepo(tb testing.TB) *testRepo {
	tb.Helper()
	testenv.NeedGit(tb)
	r := &testRepo{tb: tb, dir: tb.TempDir(), tick: 1763640000}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	date := "@" + strconv.Itoa(r.tick) + " +0000"
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Ann", "GIT_AUTHOR_EMAIL=ann@example.com",
		"GIT_COMMITTER_NAME=Ann", "GIT_COMMITTER_EMAIL=ann@example.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date,
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_SYSTEM=/dev/null")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			r.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		r.tb.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(path, content string) {
	r.tb.Helper()
	p := filepath.Join(r.dir, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.tb.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.tb.Fatal(err)
	}
}

func (r *testRepo) commit(msg string) string {
	r.tb.Helper()
	r.tick += 60
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func (r *testRepo) merge(branch, msg string) string {
	r.tb.Helper()
	r.tick += 60
	r.git("merge", "-q", "--no-ff", "-m", msg, branch)
	return r.git("rev-parse", "HEAD")
}

func lines(n int, tag string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%s line %d\n", tag, i)
	}
	return b.String()
}

// buildFixture: v1, then on main a merged pull request of two
// commits, a squashed one, a direct Dockerfile edit, a rename with an edit,
// a binary file and a deletion; bad is the tip. A hotfix branch off v1 is
// the diverged case.
func buildFixture(t *testing.T) (*testRepo, map[string]string) {
	r := newTestRepo(t)
	c := map[string]string{}
	r.write("app/main.go", lines(40, "main"))
	r.write("app/old_name.go", lines(30, "old"))
	r.write("go.mod", "module x\n\ngo 1.22\n")
	r.write("Dockerfile", "FROM scratch\nCOPY app /app\n")
	r.write("gone.txt", "bye\n")
	c["v1"] = r.commit("initial")
	r.git("tag", "v1")

	r.git("checkout", "-q", "-b", "topic")
	r.write("db/migrations/0002_add.sql", "ALTER TABLE t ADD c int;\n")
	r.commit("add a column")
	r.write("go.mod", "module x\n\ngo 1.22\n\nrequire y v1.0.0\n")
	c["topic"] = r.commit("bump y")
	r.git("checkout", "-q", "main")
	c["merge"] = r.merge("topic", "Merge pull request #12 from team/topic\n\nColumns.")

	r.write("app/main.go", strings.Replace(lines(40, "main"), "main line 7\n", "changed 7\nextra\n", 1))
	r.write("config/flags.yaml", "new_checkout: true\n")
	c["squash"] = r.commit("Turn on new checkout (#13)")

	r.write("Dockerfile", "FROM scratch\nCOPY app /srv/app\n")
	c["direct"] = r.commit("Move the app")

	if err := os.Remove(filepath.Join(r.dir, "app/old_name.go")); err != nil {
		t.Fatal(err)
	}
	r.write("app/new_name.go", strings.Replace(lines(30, "old"), "old line 3\n", "new line 3\n", 1))
	r.write("logo.png", "\x89PNG\r\n\x00\x00binary")
	if err := os.Remove(filepath.Join(r.dir, "gone.txt")); err != nil {
		t.Fatal(err)
	}
	c["rename"] = r.commit("Rename, add a logo, drop gone.txt")
	r.git("tag", "bad")

	r.git("checkout", "-q", "-b", "hotfix", "v1")
	r.write("app/main.go", lines(41, "main"))
	c["hotfix"] = r.commit("Hotfix (#14)")
	r.git("checkout", "-q", "main")
	return r, c
}

func mustFind(t *testing.T, dir, good, bad string, opts ...Option) *Result {
	t.Helper()
	repo, err := gitops.Open(dir, gitops.WithNoFetch(true), gitops.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Find(context.Background(), repo, good, bad, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestUnits(t *testing.T) {
	r, c := buildFixture(t)
	s := mustFind(t, r.dir, "v1", "bad")
	if s.Diverged {
		t.Errorf("Diverged = true for an ancestor")
	}
	type unit struct {
		commit, kind string
		pr, commits  int
		risks        string
	}
	var got []unit
	for _, u := range s.Changes.Units {
		got = append(got, unit{u.Commit, u.Kind, u.PR, len(u.Commits), strings.Join(u.Risks, ",")})
	}
	want := []unit{
		{c["rename"], UnitCommit, 0, 1, ""},
		{c["direct"], UnitCommit, 0, 1, "build"},
		{c["squash"], UnitSquash, 13, 1, "config"},
		{c["merge"], UnitMerge, 12, 3, "migration,dependency"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("units:\n got  %+v\n want %+v", got, want)
	}
	if got, want := s.Changes.Commits, 6; got != want {
		t.Errorf("Commits = %d, want %d", got, want)
	}
	for _, u := range s.Changes.Units {
		if len(u.Authors) != 0 || u.Commits[0].Author != "" {
			t.Errorf("unit %s names authors without WithAuthors", u.Commit[:7])
		}
	}
}

// TestMatchesGit compares every unit's files and line counts with
// `git diff --numstat -M` from the unit's first parent.
func TestMatchesGit(t *testing.T) {
	r, _ := buildFixture(t)
	t.Run("loose", func(t *testing.T) { checkAgainstGit(t, r) })
	// Packed with deltas, the objects come through packs.
	r.git("repack", "-adfq", "--depth=50", "--window=50")
	t.Run("packed", func(t *testing.T) { checkAgainstGit(t, r) })
}

func checkAgainstGit(t *testing.T, r *testRepo) {
	s := mustFind(t, r.dir, "v1", "bad")
	if len(s.Changes.Units) != 4 {
		t.Errorf("%d units, want 4", len(s.Changes.Units))
	}
	for _, u := range s.Changes.Units {
		out := r.git("diff", "--numstat", "-M", "-z", u.Commit+"^", u.Commit)
		want := parseNumstatZ(t, out)
		var got []string
		for _, f := range u.Files {
			a, d := strconv.Itoa(f.Added), strconv.Itoa(f.Deleted)
			if f.Binary {
				a, d = "-", "-"
			}
			name := f.Path
			if f.OldPath != "" {
				name = f.OldPath + " => " + f.Path
			}
			got = append(got, a+" "+d+" "+name)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("unit %s (%s):\n got  %q\n want %q", u.Commit[:7], u.Subject, got, want)
		}
	}
}

func parseNumstatZ(t *testing.T, out string) []string {
	t.Helper()
	var res []string
	fields := strings.Split(out, "\x00")
	for i := 0; i < len(fields); i++ {
		f := strings.TrimPrefix(fields[i], "\n")
		if f == "" {
			continue
		}
		parts := strings.SplitN(f, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("numstat: %q", f)
		}
		name := parts[2]
		if name == "" { // a rename: old and new follow
			name = fields[i+1] + " => " + fields[i+2]
			i += 2
		}
		res = append(res, parts[0]+" "+parts[1]+" "+name)
	}
	sort.Strings(res)
	return res
}

func TestFileDetails(t *testing.T) {
	r, c := buildFixture(t)
	s := mustFind(t, r.dir, c["direct"], c["rename"])
	if len(s.Changes.Units) != 1 {
		t.Fatalf("%d units, want 1", len(s.Changes.Units))
	}
	var got []string
	for _, f := range s.Changes.Units[0].Files {
		got = append(got, fmt.Sprintf("%s %s<-%s +%d -%d bin=%v", f.Status, f.Path, f.OldPath, f.Added, f.Deleted, f.Binary))
	}
	want := []string{
		"renamed app/new_name.go<-app/old_name.go +1 -1 bin=false",
		"deleted gone.txt<- +0 -1 bin=false",
		"added logo.png<- +0 -0 bin=true",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files:\n got  %q\n want %q", got, want)
	}
}

func TestDiverged(t *testing.T) {
	r, c := buildFixture(t)
	s := mustFind(t, r.dir, "hotfix", "bad")
	if !s.Diverged || s.Swapped {
		t.Fatalf("Diverged=%v Swapped=%v; want diverged, not swapped: hotfix is not an ancestor of bad", s.Diverged, s.Swapped)
	}
	if got, want := s.MergeBase, []string{c["v1"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("MergeBase = %v, want %v", got, want)
	}
	if s.GoodOnly == nil || len(s.GoodOnly.Units) != 1 || s.GoodOnly.Units[0].Commit != c["hotfix"] || s.GoodOnly.Units[0].PR != 14 {
		t.Errorf("GoodOnly = %+v, want the hotfix unit", s.GoodOnly)
	}
	if got, want := len(s.Changes.Units), 4; got != want {
		t.Errorf("bad side: %d units, want %d", got, want)
	}
	if s.Changes.From != c["v1"] {
		t.Errorf("Changes.From = %s, want the merge base %s", s.Changes.From, c["v1"])
	}

	// Swapped arguments: bad is an ancestor of good.
	s = mustFind(t, r.dir, "bad", "v1")
	if !s.Diverged || !s.Swapped || len(s.Changes.Units) != 0 || s.GoodOnly == nil || len(s.GoodOnly.Units) != 4 {
		t.Errorf("swapped: Diverged=%v, %d bad-side units, good side %+v; want diverged, 0, 4 units", s.Diverged, len(s.Changes.Units), s.GoodOnly)
	}
	if got, want := s.MergeBase, []string{c["v1"]}; !reflect.DeepEqual(got, want) {
		t.Errorf("swapped: MergeBase = %v, want %v", got, want)
	}
}

func TestEmptyAndErrors(t *testing.T) {
	r, _ := buildFixture(t)
	s := mustFind(t, r.dir, "bad", "bad")
	if s.Diverged || len(s.Changes.Units) != 0 || s.Changes.Commits != 0 {
		t.Errorf("good == bad: %+v, want an empty range", s.Changes)
	}
	repo, err := gitops.Open(r.dir, gitops.WithNoFetch(true), gitops.WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Find(context.Background(), repo, "nope", "bad"); !errors.Is(err, gitops.ErrUnknownRef) {
		t.Errorf("unknown good: err = %v, want gitops.ErrUnknownRef", err)
	}
}

func TestAuthors(t *testing.T) {
	r, _ := buildFixture(t)
	s := mustFind(t, r.dir, "v1", "bad", WithAuthors(true))
	for _, u := range s.Changes.Units {
		if !reflect.DeepEqual(u.Authors, []string{"Ann"}) {
			t.Errorf("unit %s: authors %v, want [Ann]", u.Commit[:7], u.Authors)
		}
	}
}

func TestRiskRules(t *testing.T) {
	r, _ := buildFixture(t)
	var rules []RiskRule
	for _, rule := range DefaultRiskRules() {
		switch rule.Category {
		case RiskBuild:
			rule.Patterns = nil // off
		case RiskConfig:
			rule.Patterns = []string{"config/*.yaml"} // replaced
		}
		rules = append(rules, rule)
	}
	rules = append(rules, RiskRule{Category: "payment", Patterns: []string{"app/main.go"}}) // new
	s := mustFind(t, r.dir, "v1", "bad", WithRiskRules(rules))
	got := map[string]int{}
	for k, v := range s.Changes.Risks {
		got[k] = v
	}
	want := map[string]int{"migration": 1, "dependency": 1, "config": 1, "payment": 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("risks = %v, want %v", got, want)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"*.sql", "db/x/0001.sql", true},
		{"go.sum", "sub/go.sum", true},
		{"**/migrations/**", "migrations/1.sql", true},
		{"**/migrations/**", "a/b/migrations/c/1.sql", true},
		{"**/migrations/**", "a/migrations", false},
		{".github/workflows/**", ".github/workflows/ci.yml", true},
		{".github/workflows/**", "x/.github/workflows/ci.yml", false},
		{"Dockerfile.*", "build/Dockerfile.prod", true},
		{"Dockerfile", "Dockerfile.prod", false},
		{"config/*.yaml", "config/flags.yaml", true},
		{"config/*.yaml", "config/a/flags.yaml", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.path); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.path, got, tt.want)
		}
	}
}

func TestLineCounts(t *testing.T) {
	tests := []struct {
		name, a, b     string
		added, deleted int
	}{
		{"same", "a\nb\n", "a\nb\n", 0, 0},
		{"empty to text", "", "a\nb\n", 2, 0},
		{"text to empty", "a\nb\nc", "", 0, 3},
		{"one changed", "a\nb\nc\n", "a\nB\nc\n", 1, 1},
		{"newline at end added", "a\nb", "a\nb\n", 1, 1},
		{"insert in the middle", "a\nc\n", "a\nb\nc\n", 1, 0},
		{"shared tail inside a line", "xa\n", "ya\n", 1, 1},
		{"swap", "a\nb\n", "b\na\n", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, d := lineCounts([]byte(tt.a), []byte(tt.b))
			if a != tt.added || d != tt.deleted {
				t.Errorf("got +%d -%d, want +%d -%d", a, d, tt.added, tt.deleted)
			}
		})
	}
}

// TestLineCountsAgainstGit compares random edits with `git diff
// --no-index --numstat`.
func TestLineCountsAgainstGit(t *testing.T) {
	testenv.NeedGit(t)
	rnd := rand.New(rand.NewSource(1))
	dir := t.TempDir()
	for i := 0; i < 40; i++ {
		// Few distinct lines (many equal lines to match), or many (lines
		// unique to one side, which the counter drops before the search).
		alphabet := 15
		if i%2 == 1 {
			alphabet = 400
		}
		var a, b []string
		for j := 0; j < 20+rnd.Intn(600); j++ {
			a = append(a, fmt.Sprintf("l%d", rnd.Intn(alphabet)))
		}
		for _, l := range a {
			switch rnd.Intn(6) {
			case 0: // drop
			case 1:
				b = append(b, l, fmt.Sprintf("n%d", rnd.Intn(alphabet)))
			case 2:
				b = append(b, fmt.Sprintf("l%d", rnd.Intn(alphabet)))
			default:
				b = append(b, l)
			}
		}
		as, bs := strings.Join(a, "\n")+"\n", strings.Join(b, "\n")+"\n"
		pa, pb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
		os.WriteFile(pa, []byte(as), 0o644)
		os.WriteFile(pb, []byte(bs), 0o644)
		out, _ := exec.Command("git", "diff", "--no-index", "--numstat", pa, pb).Output()
		var wa, wd int
		fmt.Sscanf(string(out), "%d\t%d", &wa, &wd)
		ga, gd := lineCounts([]byte(as), []byte(bs))
		if ga != wa || gd != wd {
			t.Errorf("case %d: got +%d -%d, git says +%d -%d", i, ga, gd, wa, wd)
		}
	}
}

func TestCompareEntries(t *testing.T) {
	dir, file := filemode.Dir, filemode.Regular
	es := []treeEntry{
		{name: "a", mode: file}, {name: "a-b", mode: file}, {name: "a.c", mode: file},
		{name: "a", mode: dir}, {name: "a0", mode: file}, {name: "b", mode: dir},
	}
	for i := range es {
		for j := range es {
			got := compareEntries(es[i], es[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got != want {
				t.Errorf("compare(%s %v, %s %v) = %d, want %d", es[i].name, es[i].mode, es[j].name, es[j].mode, got, want)
			}
		}
	}
}

// TestOddTrees covers a file that becomes a directory, a directory
// deleted whole, a mode-only change, a submodule, and a root commit.
func TestOddTrees(t *testing.T) {
	r := newTestRepo(t)
	r.write("x", "file\n")
	r.write("d/f", lines(3, "f"))
	r.write("d/e/g", lines(2, "g"))
	r.write("run.sh", "echo hi\n")
	root := r.commit("root")
	if err := os.Remove(filepath.Join(r.dir, "x")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(r.dir, "d")); err != nil {
		t.Fatal(err)
	}
	r.write("x/y", "now a dir\n")
	if err := os.Chmod(filepath.Join(r.dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.git("add", "-A")
	r.git("update-index", "--add", "--cacheinfo", "160000,"+root+",vendor/lib")
	r.tick += 60
	r.git("commit", "-q", "-m", "reshape") // not r.commit: add -A would drop the gitlink
	tip := r.git("rev-parse", "HEAD")

	s := mustFind(t, r.dir, root, tip)
	if len(s.Changes.Units) != 1 {
		t.Fatalf("%d units, want 1", len(s.Changes.Units))
	}
	var got []string
	for _, f := range s.Changes.Units[0].Files {
		got = append(got, fmt.Sprintf("%s %s +%d -%d sub=%v", f.Status, f.Path, f.Added, f.Deleted, f.Submodule))
	}
	want := []string{
		"deleted d/e/g +0 -2 sub=false",
		"deleted d/f +0 -3 sub=false",
		"modified run.sh +0 -0 sub=false",
		"added vendor/lib +0 -0 sub=true",
		"deleted x +0 -1 sub=false",
		"added x/y +1 -0 sub=false",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files:\n got  %q\n want %q", got, want)
	}

	// From nothing (the root commit's own changes): good is the root, bad
	// the root: empty; an unrelated history shares no merge base.
	r.git("checkout", "-q", "--orphan", "other")
	r.git("rm", "-rfq", ".")
	r.write("z", "z\n")
	other := r.commit("unrelated root")
	s = mustFind(t, r.dir, other, tip)
	if !s.Diverged || len(s.MergeBase) != 0 {
		t.Errorf("unrelated: Diverged=%v MergeBase=%v, want diverged with no base", s.Diverged, s.MergeBase)
	}
	if got, want := len(s.Changes.Units), 2; got != want {
		t.Errorf("unrelated: %d bad-side units, want %d", got, want)
	}
	if last := s.Changes.Units[len(s.Changes.Units)-1]; len(last.Files) != 4 || last.Files[0].Status != FileAdded {
		t.Errorf("the root unit: %+v, want its 4 files added", last.Files)
	}
	if len(s.Warnings) == 0 || !strings.Contains(s.Warnings[0], "share no history") {
		t.Errorf("warnings = %q, want one saying they share no history", s.Warnings)
	}
}
