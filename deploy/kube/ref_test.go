package kube

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestParseRef(t *testing.T) {
	tests := []struct {
		in      string
		want    Ref
		wantErr string // a part of the message; "" for success
	}{
		{in: "k8s://prod/deployment/web", want: Ref{Namespace: "prod", Kind: Deployment, Name: "web"}},
		{in: "k8s://prod/statefulset/db#postgres", want: Ref{Namespace: "prod", Kind: StatefulSet, Name: "db", Container: "postgres"}},
		{in: "k8s://kube-system/daemonset/agent.v2", want: Ref{Namespace: "kube-system", Kind: DaemonSet, Name: "agent.v2"}},
		{in: "k8s://prod/deploy/web", wantErr: "Did you mean k8s://prod/deployment/web?"},
		{in: "k8s://prod/Deployments/web", wantErr: "Did you mean k8s://prod/deployment/web?"},
		{in: "k8s://prod/sts/db", wantErr: "Did you mean k8s://prod/statefulset/db?"},
		{in: "k8s://prod/daemonst/agent", wantErr: "Did you mean k8s://prod/daemonset/agent?"},
		{in: "k8s://prod/cronjob/nightly", wantErr: `unknown kind "cronjob": KIND is one of deployment, statefulset, daemonset`},
		{in: "k8s://deployment/web", wantErr: "write k8s://NAMESPACE/KIND/NAME[#CONTAINER]"},
		{in: "k8s://prod/deployment/web/x", wantErr: "write k8s://NAMESPACE/KIND/NAME[#CONTAINER]"},
		{in: "k8s://prod//web", wantErr: "write k8s://NAMESPACE/KIND/NAME[#CONTAINER]"},
		{in: "k8s://Prod/deployment/web", wantErr: `namespace "Prod"`},
		{in: "k8s://prod/deployment/Web", wantErr: `name "Web"`},
		{in: "k8s://prod/deployment/web#", wantErr: `container ""`},
		{in: "k8s://prod/deployment/web#App", wantErr: `container "App"`},
		{in: "docker://web", wantErr: "it starts with k8s://"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRef(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadTarget) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseRef(%q) = %v, %v; want ErrBadTarget containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseRef(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			if got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestGitopsOwners(t *testing.T) {
	ref := Ref{Namespace: "prod", Kind: Deployment, Name: "web"}
	tests := []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		want        []string // parts of the one warning each; nil for none
	}{
		{name: "none", labels: map[string]string{"app": "web"}},
		{name: "argo tracking id", annotations: map[string]string{"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web"},
			want: []string{"Argo CD application shop", "argocd app set shop --sync-policy none", "gitops: target"}},
		{name: "argo app in another namespace", annotations: map[string]string{"argocd.argoproj.io/tracking-id": "team_shop:apps/Deployment:prod/web"},
			want: []string{"argocd app set team/shop --sync-policy none"}},
		{name: "argo tracking id is certain", annotations: map[string]string{"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web"},
			want: []string{"deployment/web is managed by Argo CD"}},
		// Argo CD's label tracking sets only the plain instance label,
		// which kustomize and many charts set too: a guess, said as one.
		{name: "argo instance label", labels: map[string]string{"app.kubernetes.io/instance": "shop"},
			want: []string{"may be managed by Argo CD application shop", "app.kubernetes.io/instance=shop", "If it is", "argocd app set shop --sync-policy none"}},
		{name: "helm instance label is not argo", labels: map[string]string{"app.kubernetes.io/instance": "shop", "app.kubernetes.io/managed-by": "Helm"}},
		{name: "flux kustomization", labels: map[string]string{"kustomize.toolkit.fluxcd.io/name": "apps", "kustomize.toolkit.fluxcd.io/namespace": "flux-system"},
			want: []string{"Flux kustomization flux-system/apps", "flux suspend kustomization apps -n flux-system", "gitops: target"}},
		{name: "flux helmrelease", labels: map[string]string{"helm.toolkit.fluxcd.io/name": "web", "helm.toolkit.fluxcd.io/namespace": "prod"},
			want: []string{"flux suspend helmrelease web -n prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := gitopsOwners(ref, &metav1.ObjectMeta{Labels: tt.labels, Annotations: tt.annotations})
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("warnings %q, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("warnings %q, want one", got)
			}
			for _, part := range tt.want {
				if !strings.Contains(got[0], part) {
					t.Errorf("warning %q does not say %q", got[0], part)
				}
			}
		})
	}
}

func TestDigestOf(t *testing.T) {
	const d = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ in, want string }{
		{"127.0.0.1:5000/app@" + d, d},
		{"docker-pullable://registry.example/app@" + d, d},
		{"registry.example/app:v1@" + d, d},
		{d, ""}, // the runtime's image ID, not a manifest digest
		{"registry.example/app:v1", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := digestOf(tt.in); got != tt.want {
			t.Errorf("digestOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// kubectl's rule, field by field, on plain values.
func TestRolloutRules(t *testing.T) {
	three := int32(3)
	dep := func(gen, observed int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
		st.ObservedGeneration = observed
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Generation: gen}, Spec: appsv1.DeploymentSpec{Replicas: &three}, Status: st}
	}
	partition := int32(1)
	sts := func(st appsv1.StatefulSetStatus, p *int32) *appsv1.StatefulSet {
		s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "db", Generation: 2}, Spec: appsv1.StatefulSetSpec{Replicas: &three}, Status: st}
		s.Spec.UpdateStrategy.Type = appsv1.RollingUpdateStatefulSetStrategyType
		if p != nil {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: p}
		}
		return s
	}
	ds := func(st appsv1.DaemonSetStatus) *appsv1.DaemonSet {
		d := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Generation: 2}, Status: st}
		d.Spec.UpdateStrategy.Type = appsv1.RollingUpdateDaemonSetStrategyType
		return d
	}
	tests := []struct {
		name    string
		obj     runtime.Object
		done    bool
		wantMsg string
		wantErr bool
	}{
		{"deployment not observed", dep(2, 1, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), false, "observe", false},
		{"deployment updating", dep(2, 2, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1}), false, "1 out of 3 new replicas", false},
		{"deployment old pods left", dep(2, 2, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 3}), false, "1 old replicas are pending termination", false},
		{"deployment not available", dep(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 2}), false, "2 of 3 updated replicas are available", false},
		{"deployment done", dep(2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 3, AvailableReplicas: 3}), true, "successfully rolled out", false},
		{"deployment past its deadline", dep(2, 2, appsv1.DeploymentStatus{Replicas: 4, UpdatedReplicas: 1, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentProgressing, Status: "False", Reason: ProgressDeadlineExceeded}}}), false, "", true},
		{"statefulset not observed", sts(appsv1.StatefulSetStatus{ObservedGeneration: 1}, nil), false, "observe", false},
		{"statefulset not ready", sts(appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 2}, nil), false, "waiting for 1 pods to be ready", false},
		{"statefulset revisions differ", sts(appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 2, UpdateRevision: "b", CurrentRevision: "a"}, nil), false, "rolling update to complete 2 pods at revision b", false},
		{"statefulset done", sts(appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, CurrentReplicas: 3, UpdateRevision: "b", CurrentRevision: "b"}, nil), true, "complete 3 pods at revision b", false},
		{"statefulset partition pending", sts(appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 1}, &partition), false, "1 out of 2 new pods", false},
		{"statefulset partition done", sts(appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 3, UpdatedReplicas: 2}, &partition), true, "partitioned roll out complete", false},
		{"daemonset not observed", ds(appsv1.DaemonSetStatus{ObservedGeneration: 1}), false, "observe", false},
		{"daemonset updating", ds(appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 2, UpdatedNumberScheduled: 1}), false, "1 out of 2 new pods", false},
		{"daemonset not available", ds(appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 2, UpdatedNumberScheduled: 2, NumberAvailable: 1}), false, "1 of 2 updated pods are available", false},
		{"daemonset done", ds(appsv1.DaemonSetStatus{ObservedGeneration: 2, DesiredNumberScheduled: 2, UpdatedNumberScheduled: 2, NumberAvailable: 2}), true, "successfully rolled out", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, done, err := rollout(tt.obj)
			if (err != nil) != tt.wantErr || done != tt.done || !strings.Contains(p.Message, tt.wantMsg) {
				t.Fatalf("rollout = %+v, done %v, err %v; want done %v, message with %q, error %v", p, done, err, tt.done, tt.wantMsg, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrRolloutFailed) {
				t.Errorf("error %v is not ErrRolloutFailed", err)
			}
		})
	}
}
