package gitopsfile

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/errs"
	"github.com/lkg-dev/lkg/internal/journaltest"
	"github.com/lkg-dev/lkg/journal"
)

const (
	image = "127.0.0.1:5000/shop/api"
	file  = "apps/api/kustomization.yaml"
	bad   = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	good  = "sha256:6666666666666666666666666666666666666666666666666666666666666666"
	kust  = `# prod: what Argo CD deploys
resources:
  - ../../base
images:
  - name: 127.0.0.1:5000/shop/api   # the API
    newTag: v1.1.0
    digest: ` + bad + ` # set by CI
`
)

// configRepo is a config repository served by a real `git daemon` with
// receive-pack on 127.0.0.1, and a work clone to push from as another
// writer would.
type configRepo struct {
	url  string
	work string
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Bo Ops", "GIT_AUTHOR_EMAIL=bo@example.com", "GIT_COMMITTER_NAME=Bo Ops", "GIT_COMMITTER_EMAIL=bo@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newConfigRepo(t *testing.T) *configRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("LKG_REQUIRE_INTEGRATION=1 but git is not on PATH")
		}
		t.Skip("no git")
	}
	dir := t.TempDir()
	git(t, dir, "init", "-q", "--bare", "-b", "main", "config.git")
	work := filepath.Join(dir, "work")
	git(t, dir, "init", "-q", "-b", "main", work)
	if err := os.MkdirAll(filepath.Join(work, "apps/api"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, work, file, kust)
	write(t, work, "README", "config\n")
	git(t, work, "add", ".")
	git(t, work, "commit", "-q", "-m", "prod at v1.1.0")
	git(t, work, "push", "-q", filepath.Join(dir, "config.git"), "main")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	d := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1",
		"--port="+strconv.Itoa(port), "--base-path="+dir, dir)
	// git daemon forks a child per connection: stop the whole group.
	d.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-d.Process.Pid, syscall.SIGTERM)
		_ = d.Wait()
	})
	for range 100 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := &configRepo{url: fmt.Sprintf("git://127.0.0.1:%d/config.git", port), work: work}
	git(t, work, "remote", "add", "origin", r.url)
	return r
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pull is the branch's file, and the tip's message, as the remote has them.
func (r *configRepo) pull(t *testing.T) (content, message string) {
	t.Helper()
	git(t, r.work, "fetch", "-q", "origin", "main")
	git(t, r.work, "reset", "-q", "--hard", "origin/main")
	b, err := os.ReadFile(filepath.Join(r.work, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b), git(t, r.work, "log", "-1", "--format=%B")
}

func (r *configRepo) target() *File {
	return New(Config{Repo: r.url, Branch: "main", File: file, Image: image}, WithIncident(func() string { return "20261205-1100" }))
}

func TestDeployAndUndo(t *testing.T) {
	t.Parallel()
	r := newConfigRepo(t)
	f := r.target()
	defer f.Close()
	ctx := context.Background()
	var j journaltest.Recorder

	out, err := deploy.DeployDigest(ctx, f, &j, "127.0.0.1:5000/shop/api@"+good, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if out.Move.Status != journal.StatusDone || out.Move.Previous != bad || out.Move.Digest != good {
		t.Errorf("deploy moved %s -> %s (%s), want %s -> %s done", out.Move.Previous, out.Move.Digest, out.Move.Status, bad, good)
	}
	got, msg := r.pull(t)
	if want := strings.Replace(kust, bad, good, 1); got != want {
		t.Errorf("after the deploy the file is\n%s\nwant\n%s", got, want)
	}
	for _, want := range []string{"lkg: pin " + image, "Incident: 20261205-1100", "Digest: " + good, "Previous: " + image + ":v1.1.0@" + bad} {
		if !strings.Contains(msg, want) {
			t.Errorf("the commit message\n%s\nlacks %q", msg, want)
		}
	}

	if _, err := deploy.Undo(ctx, f, &j, j.Events(), deploy.Options{Yes: true}); err != nil {
		t.Fatalf("undo: %v", err)
	}
	got, msg = r.pull(t)
	if got != kust {
		t.Errorf("after the undo the file is\n%s\nwant it as it was\n%s", got, kust)
	}
	if !strings.HasPrefix(msg, "Revert lkg's pin of "+image) || !strings.Contains(msg, "This reverts commit ") {
		t.Errorf("the undo's message is\n%s\nwant a revert", msg)
	}
}

func TestPushRefusedIsAppliedOnceMore(t *testing.T) {
	t.Parallel()
	r := newConfigRepo(t)
	f := r.target()
	defer f.Close()
	ctx := context.Background()
	cur, err := f.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Prepare(ctx, cur, deploy.Build{Image: image + "@" + good, Digest: good})
	if err != nil {
		t.Fatal(err)
	}
	// Someone pushes another change between the read and the push.
	write(t, r.work, "README", "config, edited\n")
	git(t, r.work, "commit", "-q", "-am", "someone else")
	git(t, r.work, "push", "-q", "origin", "main")
	theirs := git(t, r.work, "rev-parse", "HEAD")

	if err := f.Apply(ctx, p); err != nil {
		t.Fatalf("apply after another push: %v", err)
	}
	got, _ := r.pull(t)
	if !strings.Contains(got, "digest: "+good) {
		t.Errorf("the file does not pin %s:\n%s", good, got)
	}
	if parent := git(t, r.work, "rev-parse", "HEAD^"); parent != theirs {
		t.Errorf("lkg's commit is on %s, want on the other writer's %s", parent, theirs)
	}
	if _, err := f.Wait(ctx, p); err != nil {
		t.Errorf("wait: %v", err)
	}
}

func TestPinMovedMeanwhileIsRefused(t *testing.T) {
	t.Parallel()
	r := newConfigRepo(t)
	f := r.target()
	defer f.Close()
	ctx := context.Background()
	cur, err := f.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.Prepare(ctx, cur, deploy.Build{Image: image + "@" + good, Digest: good})
	if err != nil {
		t.Fatal(err)
	}
	theirs := strings.Replace(kust, bad, "sha256:"+strings.Repeat("c", 64), 1)
	write(t, r.work, file, theirs)
	git(t, r.work, "commit", "-q", "-am", "someone pins another build")
	git(t, r.work, "push", "-q", "origin", "main")

	if err := f.Apply(ctx, p); !errors.Is(err, deploy.ErrTargetMoved) {
		t.Fatalf("apply: err = %v, want ErrTargetMoved", err)
	}
	if got, _ := r.pull(t); got != theirs {
		t.Errorf("the file is\n%s\nwant the other writer's, untouched", got)
	}
}

func TestUnreachableRepoIsOneLine(t *testing.T) {
	t.Parallel()
	r := newConfigRepo(t) // for git on PATH
	f := New(Config{Repo: r.url + "-missing", Branch: "main", File: file, Image: image})
	defer f.Close()
	_, err := f.Read(context.Background())
	if err == nil || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %q, want one line", err)
	}
}

// branchFile is file on branch of the remote, and the branch's tip.
func (r *configRepo) branchFile(t *testing.T, branch string) (content, tip string) {
	t.Helper()
	git(t, r.work, "fetch", "-q", "origin", "+refs/heads/"+branch+":refs/remotes/origin/"+branch)
	return git(t, r.work, "show", "origin/"+branch+":"+file) + "\n", git(t, r.work, "rev-parse", "origin/"+branch)
}

func TestReviewBranch(t *testing.T) {
	t.Parallel()
	r := newConfigRepo(t)
	ctx := context.Background()
	mainTip := git(t, r.work, "rev-parse", "HEAD")
	var log strings.Builder
	base := New(Config{Repo: r.url, Branch: "main", File: file, Image: image}, WithLog(&log))
	f, err := base.ForReview("lkg/review-1")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var j journaltest.Recorder

	out, err := deploy.DeployDigest(ctx, f, &j, image+"@"+good, deploy.Options{Yes: true})
	if err != nil {
		t.Fatalf("deploy: %v", err)
	}
	if want := "gitops:" + r.url + "#lkg/review-1:" + file; out.Move.Target != want || f.Base() != "gitops:"+r.url+"#main:"+file {
		t.Errorf("target %q (base %q), want %q", out.Move.Target, f.Base(), want)
	}
	if out.Move.Status != journal.StatusDone || out.Move.Previous != bad || out.Move.Digest != good {
		t.Errorf("deploy moved %s -> %s (%s), want %s -> %s done", out.Move.Previous, out.Move.Digest, out.Move.Status, bad, good)
	}
	got, tip := r.branchFile(t, "lkg/review-1")
	if want := strings.Replace(kust, bad, good, 1); got != want {
		t.Errorf("the review branch's file is\n%s\nwant\n%s", got, want)
	}
	if parent := git(t, r.work, "rev-parse", tip+"^"); parent != mainTip {
		t.Errorf("the review commit is on %s, want on main's tip %s", parent, mainTip)
	}
	if got, _ := r.pull(t); got != kust {
		t.Errorf("main changed:\n%s", got)
	}
	if d := string(out.Move.Detail); !strings.Contains(d, `"commit":"`+tip+`"`) || !strings.Contains(d, `"branch":"lkg/review-1"`) {
		t.Errorf("the record's detail is %s, want commit %s on lkg/review-1", d, tip)
	}
	if want := fmt.Sprintf("lkg: pushed %.12s to branch lkg/review-1 of %s for review; open it from lkg/review-1 into main\n", tip, r.url); log.String() != want {
		t.Errorf("log = %q, want %q", log.String(), want)
	}

	// The same name again: the branch has a commit main does not, so a
	// deploy is refused, exit 2, and the branch is left as it is.
	_, err = deploy.DeployDigest(ctx, f, &j, image+"@"+good, deploy.Options{Yes: true})
	if errs.Code(err) != 2 || !strings.Contains(err.Error(), "branch lkg/review-1 exists on "+r.url+" with commits main does not have") {
		t.Errorf("deploy to the same branch: %v (exit %d), want a refusal, exit 2", err, errs.Code(err))
	}
	if _, again := r.branchFile(t, "lkg/review-1"); again != tip {
		t.Errorf("the review branch moved to %s", again)
	}

	// Undo reverts on the review branch; main stays.
	if _, err := deploy.Undo(ctx, f, &j, j.Events(), deploy.Options{Yes: true}); err != nil {
		t.Fatalf("undo: %v", err)
	}
	if got, _ := r.branchFile(t, "lkg/review-1"); got != kust {
		t.Errorf("after the undo the review branch's file is\n%s\nwant\n%s", got, kust)
	}
	if got, _ := r.pull(t); got != kust {
		t.Errorf("main changed:\n%s", got)
	}
}

func TestReviewBranchOfSomeoneElse(t *testing.T) {
	t.Parallel()
	r := newConfigRepo(t)
	ctx := context.Background()
	// Someone's branch of that name, with a commit of theirs.
	git(t, r.work, "checkout", "-q", "-b", "fix")
	write(t, r.work, "README", "their fix\n")
	git(t, r.work, "commit", "-q", "-am", "their fix")
	git(t, r.work, "push", "-q", "origin", "fix")
	theirs := git(t, r.work, "rev-parse", "HEAD")
	// And one made from main with nothing of its own: that one is used.
	git(t, r.work, "push", "-q", "origin", "main:refs/heads/empty")
	git(t, r.work, "checkout", "-q", "main")

	f, err := r.target().ForReview("fix")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = deploy.DeployDigest(ctx, f, &journaltest.Recorder{}, image+"@"+good, deploy.Options{Yes: true})
	if errs.Code(err) != 2 || !strings.Contains(err.Error(), "lkg never overwrites a branch") {
		t.Errorf("deploy to their branch: %v (exit %d), want a refusal, exit 2", err, errs.Code(err))
	}
	if _, tip := r.branchFile(t, "fix"); tip != theirs {
		t.Errorf("their branch moved to %s", tip)
	}

	e, err := r.target().ForReview("empty")
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := deploy.DeployDigest(ctx, e, &journaltest.Recorder{}, image+"@"+good, deploy.Options{Yes: true}); err != nil {
		t.Fatalf("deploy to a branch with nothing of its own: %v", err)
	}
	if got, _ := r.branchFile(t, "empty"); !strings.Contains(got, "digest: "+good) {
		t.Errorf("the branch does not pin %s:\n%s", good, got)
	}
}

func TestReviewBranchName(t *testing.T) {
	t.Parallel()
	c := Config{Repo: "/r", Branch: "main", File: file, Image: image}
	for _, tc := range []struct{ name, err string }{
		{"lkg/incident-42", ""},
		{"main", "is the environment's own branch"},
		{"-x", "is not a branch name"},
		{"a..b", "is not a branch name"},
		{"a/", "is not a branch name"},
		{"a b", "is not a branch name"},
		{"x.lock", "is not a branch name"},
	} {
		c.Review = tc.name
		err := c.Check()
		if (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("Check with Review %q = %v, want %q", tc.name, err, tc.err)
		}
	}
}

// TestInterruptEveryStep interrupts a deploy after the planned line is
// journaled, once the commit is written but not pushed, and once it is
// pushed but not yet journaled done: the journal says what the branch
// pins then, and undo works (or has nothing to do).
func TestInterruptEveryStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		step   string
		pushed bool
	}{
		{"journaled", false},
		{"committed", false},
		{"moved", true},
	} {
		t.Run(tc.step, func(t *testing.T) {
			t.Parallel()
			r := newConfigRepo(t)
			f := r.target()
			defer f.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			interrupt := func(_ context.Context, at string) {
				if at == tc.step {
					cancel()
				}
			}
			f.step = interrupt
			var j journaltest.Recorder
			_, err := deploy.DeployDigest(ctx, f, &j, image+"@"+good, deploy.Options{Yes: true, Step: interrupt})
			if !errors.Is(err, deploy.ErrInterrupted) || errs.Code(err) != 130 {
				t.Fatalf("deploy: %v (exit %d), want interrupted, exit 130", err, errs.Code(err))
			}
			var m journal.Move
			if err := j.Events()[len(j.Events())-1].DecodeData(&m); err != nil {
				t.Fatal(err)
			}
			got, _ := r.pull(t)
			want, status, now := kust, journal.StatusFailed, bad
			if tc.pushed {
				want, status, now = strings.Replace(kust, bad, good, 1), journal.StatusDone, good
			}
			if got != want {
				t.Errorf("the branch's file is\n%s\nwant\n%s", got, want)
			}
			if m.Status != status || m.Now != now {
				t.Errorf("journaled %s now at %s, want %s at %s", m.Status, m.Now, status, now)
			}
			f.step = func(context.Context, string) {}
			_, err = deploy.Undo(context.Background(), f, &j, j.Events(), deploy.Options{Yes: true})
			if !tc.pushed {
				if !errors.Is(err, deploy.ErrNoDeploy) {
					t.Errorf("undo: %v, want nothing to undo", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("undo: %v", err)
			}
			if got, _ := r.pull(t); got != kust {
				t.Errorf("after the undo the file is\n%s\nwant\n%s", got, kust)
			}
		})
	}
}
