package gitops

import (
	"context"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lkg-dev/lkg/types"
)

// gitHTTPServer serves the bare repositories under root over git's smart
// HTTP protocol (git http-backend), asking for user:secret.
func gitHTTPServer(t *testing.T, root string) *httptest.Server {
	t.Helper()
	out, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Skip("git --exec-path:", err)
	}
	backend := filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		t.Skip("no git-http-backend")
	}
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if u, p, ok := req.BasicAuth(); !ok || u != "user" || p != "secret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestRemoteAuth(t *testing.T) {
	s := newRemoteSetup(t)
	srv := gitHTTPServer(t, filepath.Dir(s.upstream))
	url := srv.URL + "/" + filepath.Base(s.upstream)
	gitRun(t, s.local, "remote", "set-url", "origin", url)
	gitRun(t, s.local, "remote", "remove", "gone")
	good := func(r *Repo) types.Commit {
		c, err := r.Resolve("v1")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// No credential helper: one clear warning naming the remote and what to
	// do; alice's fork is still scanned.
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(t.TempDir(), "none"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	r, err := Open(s.local, WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	states, warnings, err := r.RefStates(context.Background(), good(r), nil)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(warnings, "\n")
	if !strings.Contains(joined, `remote "origin"`) || !strings.Contains(joined, "authentication failed") || !strings.Contains(joined, "credential helper") {
		t.Errorf("warnings %q: want an authentication line naming origin", warnings)
	}
	if strings.Contains(joined, "secret") {
		t.Errorf("warnings leak a credential: %q", warnings)
	}
	sawAlice := false
	for _, st := range states {
		sawAlice = sawAlice || st.Remote == "alice"
	}
	if !sawAlice {
		t.Errorf("alice's fork not scanned after origin failed: %+v", states)
	}

	// A credential helper, as `git credential fill` finds it: origin's
	// branches are listed and fetched.
	gitRun(t, s.local, "config", "credential.helper", "!f() { echo username=user; echo password=secret; }; f")
	r, err = Open(s.local, WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	states, warnings, err = r.RefStates(context.Background(), good(r), nil)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, st := range states {
		if st.Remote == "origin" && st.Ref == "refs/heads/hotfix" && st.ContainsGood {
			found = true
		}
	}
	if !found {
		t.Errorf("origin's hotfix branch not found through the credential helper; warnings %q", warnings)
	}
}
