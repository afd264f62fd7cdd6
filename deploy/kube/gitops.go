package kube

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gitopsOwners warns, for a workload that Argo CD or Flux applies, that
// their sync (self-heal, the next reconcile) will put the image in git
// back, with the command that pauses them and the target to use instead.
// They are told by the marks they leave on what they apply: Argo CD's
// tracking annotation or instance label, Flux's kustomize-controller and
// helm-controller labels. Argo CD's label tracking sets only the plain
// app.kubernetes.io/instance label, which kustomize and charts set too:
// that one is said as a guess.
func gitopsOwners(ref Ref, m *metav1.ObjectMeta) []string {
	hint := "deploy through the environment's gitops: target instead, so git says what runs"
	var out []string
	argo, guess := "", false
	switch {
	case m.Annotations["argocd.argoproj.io/tracking-id"] != "":
		// "APP:GROUP/KIND:NAMESPACE/NAME"; APP may be "NAMESPACE_APP".
		argo, _, _ = strings.Cut(m.Annotations["argocd.argoproj.io/tracking-id"], ":")
	case m.Labels["argocd.argoproj.io/instance"] != "":
		argo = m.Labels["argocd.argoproj.io/instance"]
	case m.Labels["app.kubernetes.io/instance"] != "" && m.Labels["app.kubernetes.io/managed-by"] != "Helm":
		argo, guess = m.Labels["app.kubernetes.io/instance"], true
	}
	if argo != "" {
		app := strings.Replace(argo, "_", "/", 1)
		pause := fmt.Sprintf("Pause it first: argocd app set %s --sync-policy none; or %s", app, hint)
		if guess {
			out = append(out, fmt.Sprintf("%s may be managed by Argo CD application %s: it has the label app.kubernetes.io/instance=%s that Argo CD's label tracking sets (other tools set it too). If it is, its self-heal will put back the image in git. %s",
				ref, app, argo, pause))
		} else {
			out = append(out, fmt.Sprintf("%s is managed by Argo CD application %s: its self-heal will put back the image in git. %s", ref, app, pause))
		}
	}
	for _, f := range []struct{ kind, label string }{
		{"kustomization", "kustomize.toolkit.fluxcd.io"},
		{"helmrelease", "helm.toolkit.fluxcd.io"},
	} {
		name := m.Labels[f.label+"/name"]
		if name == "" {
			continue
		}
		ns := m.Labels[f.label+"/namespace"]
		if ns == "" {
			ns = ref.Namespace
		}
		out = append(out, fmt.Sprintf("%s is applied by Flux %s %s/%s: its next reconcile will put back the image in git. Pause it first: flux suspend %s %s -n %s; or %s",
			ref, f.kind, ns, name, f.kind, name, ns, hint))
	}
	return out
}
