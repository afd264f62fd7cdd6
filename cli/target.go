package cli

import (
	"cmp"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/artifacts"
	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/deploy/container"
	"github.com/lkg-dev/lkg/deploy/gitopsfile"
	"github.com/lkg-dev/lkg/deploy/kube"
	"github.com/lkg-dev/lkg/deploy/registry"
	"github.com/lkg-dev/lkg/deploy/swarm"
	"github.com/lkg-dev/lkg/gitops"
	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/imageref"
)

// checkTarget accepts --to (or an environment's to:) as a form lkg can
// move, without touching the network: "HOST/REPO:TAG" for a registry tag,
// "docker://NAME" for a container, "compose://PROJECT/SERVICE" for a
// compose service's containers, "swarm://SERVICE" for a Swarm service.
func checkTarget(to string) error {
	if err := refuseCredentials("--to", to); err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(to, container.Scheme):
		if _, err := container.ParseTarget(to); err != nil {
			return usagef("--to %v", err)
		}
		return nil
	case strings.HasPrefix(to, container.ComposeScheme):
		if _, _, err := container.ParseCompose(to); err != nil {
			return usagef("--to %v", err)
		}
		return nil
	case strings.HasPrefix(to, swarm.Scheme):
		if _, err := swarm.ParseTarget(to); err != nil {
			return usagef("--to %v", err)
		}
		return nil
	case kube.IsTarget(to):
		_, err := kube.ParseRef(to) // exit 2, naming the nearest kind
		return err
	}
	if _, err := imageref.ParseTag(to); err != nil {
		return usagef("--to %v", err)
	}
	return nil
}

// isRegistryTag says --to names a registry tag, not a runtime target
// (a form with a scheme, docker://NAME and the like).
func isRegistryTag(to string) bool { return !strings.Contains(to, "://") }

// openTarget is the deploy target --to names, with the clients it needs
// built once. settle is how long after a move a registry tag is read once
// more, and how long a new container without a HEALTHCHECK must run to
// count as up.
func (g *Globals) openTarget(std *IO, to string, settle time.Duration) (deploy.Target, error) {
	return g.openTargetIn(std, to, settle, g.KubeContext)
}

// openTargetIn is openTarget with a k8s:// target in kubeconfig context
// kubeContext ("" for the current one).
func (g *Globals) openTargetIn(std *IO, to string, settle time.Duration, kubeContext string) (deploy.Target, error) {
	if err := checkTarget(to); err != nil {
		return nil, err
	}
	switch {
	case strings.HasPrefix(to, container.Scheme):
		name, _ := container.ParseTarget(to)
		return container.Dial(name, g.engineOptions(std), container.WithLog(std.Err), container.WithGrace(settle)), nil
	case strings.HasPrefix(to, container.ComposeScheme):
		project, service, _ := container.ParseCompose(to)
		return container.DialService(project, service, g.engineOptions(std), container.WithLog(std.Err), container.WithGrace(settle)), nil
	case strings.HasPrefix(to, swarm.Scheme):
		name, _ := swarm.ParseTarget(to)
		return swarm.New(name, swarm.WithEngine(g.engineOptions(std)...)), nil
	case kube.IsTarget(to):
		cfg := kube.Config{Options: kube.Options{Context: kubeContext, RequestTimeout: g.Timeout}, Cause: "lkg deploy"}
		if std.ErrTerminal && !std.Quiet {
			cfg.Progress = std.Err
		}
		return kube.NewTarget(to, cfg)
	}
	ref, _ := imageref.ParseTag(to)
	copier, err := g.copier(std)
	if err != nil {
		return nil, err
	}
	return registry.New(copier, ref, settle), nil
}

// openEnvTarget is environment e's target: its gitops: file, else its
// to: as openTarget opens it.
func (g *Globals) openEnvTarget(std *IO, e config.Environment, settle time.Duration) (deploy.Target, error) {
	if e.GitOps == nil {
		// The environment's context is its own: --kube-context is for --to.
		if e.Context != "" && g.KubeContext != "" && g.KubeContext != e.Context {
			std.warnf("environment %s names kube context %q: --kube-context %q applies to --to, not to it", e.Name, e.Context, g.KubeContext)
		}
		return g.openTargetIn(std, e.To, settle, cmp.Or(e.Context, g.KubeContext))
	}
	c := gitopsfile.Config{Repo: e.GitOps.Repo, Branch: e.GitOps.Branch, File: e.GitOps.File, Image: e.GitOps.Image}
	if err := c.Check(); err != nil {
		return nil, usagef("environment %s: %v", e.Name, err)
	}
	return gitopsfile.New(c, gitopsfile.WithIncident(g.currentIncident), gitopsfile.WithLog(std.Err)), nil
}

// forReview is environment env's target t with its config commit pushed
// to branch for review (--gitops-branch); an environment without a
// gitops: file has no branch to push.
func forReview(t deploy.Target, env, branch string) (*gitopsfile.File, error) {
	f, ok := t.(*gitopsfile.File)
	if !ok {
		return nil, usagef("--gitops-branch %s: environment %s has no gitops: config repository to push a branch to", branch, env)
	}
	r, err := f.ForReview(branch)
	if err != nil {
		return nil, usagef("environment %s: %v", env, err)
	}
	return r, nil
}

// openEnv is the target of the environment .lkg.yaml calls name.
func (g *Globals) openEnv(std *IO, name string, settle time.Duration) (deploy.Target, error) {
	cfg, err := g.Config()
	if err != nil {
		return nil, err
	}
	e, ok := cfg.Env(name)
	if !ok {
		return nil, unknownEnv(cfg, name)
	}
	return g.openEnvTarget(std, e, settle)
}

// currentIncident is the journal's open incident, "" when it cannot be
// read: a config commit names it.
func (g *Globals) currentIncident() string {
	gitDir, err := gitops.FindGitDir(g.Dir)
	if err != nil {
		return ""
	}
	j, err := openJournal(gitDir)
	if err != nil {
		return ""
	}
	id, _ := j.Current()
	return id
}

// copier is the registry copier, built on first use and shared.
func (g *Globals) copier(std *IO) (*artifacts.Copier, error) {
	if g.copy == nil {
		c, err := artifacts.NewCopier(g.copierOptions(std)...)
		if err != nil {
			return nil, err
		}
		g.copy = c
	}
	return g.copy, nil
}
