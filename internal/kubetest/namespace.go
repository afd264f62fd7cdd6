package kubetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

var everything = labels.Everything()

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// Namespace is a test's own namespace, and how the harness's node treats
// the pods in it.
type Namespace struct {
	Name string
	c    *Cluster
}

// Namespace makes a namespace for tb, named after it, once the service
// account controller has given it its "default" service account (pods
// are refused before). Namespaces are not deleted: the control plane ends
// with the test binary.
func (c *Cluster) Namespace(tb testing.TB) *Namespace {
	tb.Helper()
	n, err := c.NewNamespace(tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// NewNamespace is Namespace for callers without a testing.TB: a namespace
// whose name starts with name (made a DNS label).
func (c *Cluster) NewNamespace(name string) (*Namespace, error) {
	ctx := context.Background()
	// A namespace name is a DNS label: the test's name, lower case, with
	// anything else made a dash.
	prefix := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
	if len(prefix) > 40 {
		prefix = prefix[:40]
	}
	ns, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Trim(prefix, "-") + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating a namespace: %w", err)
	}
	n := &Namespace{Name: ns.Name, c: c}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := c.Client.CoreV1().ServiceAccounts(n.Name).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("namespace %s has no default service account: %w", n.Name, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.node.mu.Lock()
	c.node.rules[n.Name] = &rules{neverReady: map[string]bool{}, restarts: map[string]int32{}, digests: map[string]string{},
		logs: map[string]string{}, previous: map[string]string{}}
	c.node.mu.Unlock()
	return n, nil
}

func (n *Namespace) set(f func(r *rules)) {
	nd := n.c.node
	nd.mu.Lock()
	f(nd.rules[n.Name])
	nd.mu.Unlock()
	nd.requeue(n.Name)
}

// NeverReady makes the containers running image (as the pod spec names it)
// Running but never Ready, as a build whose readiness probe fails; with
// ready true they become Ready again.
func (n *Namespace) NeverReady(image string, never bool) {
	n.set(func(r *rules) { r.neverReady[image] = never })
}

// Restarts makes the containers running image report count restarts, with
// a kubelet's BackOff event for each pod when its count changes.
func (n *Namespace) Restarts(image string, count int32) {
	n.set(func(r *rules) { r.restarts[image] = count })
}

// Digest is the digest that a tag image resolves to, for the pods'
// imageID. Without it a tag is asked of its registry; an image by digest
// needs none.
func (n *Namespace) Digest(image, digest string) {
	n.set(func(r *rules) { r.digests[image] = digest })
}

// Logs makes the namespace's pods run on LogsNode, whose kubelet answers
// the API server for their logs: current for a container running image,
// and previous for the one before its last restart (see Restarts). Call
// it before the workloads are created: pods already placed stay where
// they are.
func (n *Namespace) Logs(image, current, previous string) {
	n.set(func(r *rules) {
		r.serveLogs = true
		r.logs[image], r.previous[image] = current, previous
	})
}

// LogsHang makes LogsNode's kubelet hold the namespace's log requests
// without answering until the caller gives up (hang true), as a node
// under pressure does; with false it answers again.
func (n *Namespace) LogsHang(hang bool) {
	n.set(func(r *rules) { r.logsHang = hang })
}

// Grant binds LimitedUser, in this namespace, a role with rules.
func (n *Namespace) Grant(tb testing.TB, rules ...rbacv1.PolicyRule) {
	tb.Helper()
	ctx := context.Background()
	rbac := n.c.Client.RbacV1()
	name := "lkg-limited"
	if _, err := rbac.Roles(n.Name).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("creating role: %v", err)
	}
	if _, err := rbac.RoleBindings(n.Name).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: LimitedUser}},
	}, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("creating role binding: %v", err)
	}
	// The API server's authorizer learns of the binding from its own
	// watch: wait until it answers with it, or the test races it.
	for _, r := range rules {
		attrs := &authzv1.ResourceAttributes{Namespace: n.Name, Verb: r.Verbs[0], Resource: r.Resources[0]}
		if len(r.APIGroups) > 0 {
			attrs.Group = r.APIGroups[0]
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			res, err := n.c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
				Spec: authzv1.SubjectAccessReviewSpec{User: LimitedUser, ResourceAttributes: attrs},
			}, metav1.CreateOptions{})
			if err == nil && res.Status.Allowed {
				break
			}
			if time.Now().After(deadline) {
				tb.Fatalf("the grant of %v to %s did not take effect: %v", attrs, LimitedUser, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Workload is what the workload helpers make: one container per name in
// Containers, each running Image unless Images names another.
type Workload struct {
	Name       string
	Replicas   int32             // Deployment and StatefulSet; default 2
	Containers []string          // default {"app"}
	Image      string            // every container's image
	Images     map[string]string // a container's own image
	Labels     map[string]string // on the workload's metadata
	// Annotations on the workload's metadata.
	Annotations map[string]string
}

func (w Workload) template() corev1.PodTemplateSpec {
	names := w.Containers
	if len(names) == 0 {
		names = []string{"app"}
	}
	var cs []corev1.Container
	for _, name := range names {
		img := w.Image
		if w.Images[name] != "" {
			img = w.Images[name]
		}
		cs = append(cs, corev1.Container{Name: name, Image: img})
	}
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": w.Name}},
		Spec:       corev1.PodSpec{Containers: cs, TerminationGracePeriodSeconds: new(int64(1))},
	}
}

func (w Workload) meta() metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: w.Name, Labels: w.Labels, Annotations: w.Annotations}
}

func (w Workload) replicas() *int32 {
	r := w.Replicas
	if r == 0 {
		r = 2
	}
	return &r
}

// Deployment creates a Deployment (edit, when given, changes it first)
// and waits until its pods are Ready.
func (n *Namespace) Deployment(tb testing.TB, w Workload, edit ...func(*appsv1.Deployment)) *appsv1.Deployment {
	tb.Helper()
	d, err := n.NewDeployment(w, edit...)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// NewDeployment is Deployment for callers without a testing.TB.
func (n *Namespace) NewDeployment(w Workload, edit ...func(*appsv1.Deployment)) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{ObjectMeta: w.meta(), Spec: appsv1.DeploymentSpec{
		Replicas: w.replicas(),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.Name}},
		Template: w.template(),
	}}
	for _, e := range edit {
		e(d)
	}
	ctx := context.Background()
	if _, err := n.c.Client.AppsV1().Deployments(n.Name).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating deployment %s: %w", w.Name, err)
	}
	err := n.c.waitFor(60*time.Second, "deployment "+w.Name, func(ctx context.Context) (bool, error) {
		got, err := n.c.Client.AppsV1().Deployments(n.Name).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		d = got
		return Settled(got), nil
	})
	return d, err
}

// Settled says the Deployment's controller is done with its last change:
// every replica updated and available, none old, and its last write of a
// rollout, the Progressing condition's NewReplicaSetAvailable, made (after
// it the Deployment stays as it is until someone changes it).
func Settled(d *appsv1.Deployment) bool {
	s := d.Status
	settled := false
	for _, c := range s.Conditions {
		settled = settled || c.Type == appsv1.DeploymentProgressing && c.Reason == "NewReplicaSetAvailable"
	}
	return settled && s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == *d.Spec.Replicas &&
		s.Replicas == s.UpdatedReplicas && s.AvailableReplicas == s.UpdatedReplicas
}

// StatefulSet creates a StatefulSet (edit changes it first) and waits
// until its pods are Ready.
func (n *Namespace) StatefulSet(tb testing.TB, w Workload, edit ...func(*appsv1.StatefulSet)) *appsv1.StatefulSet {
	tb.Helper()
	s := &appsv1.StatefulSet{ObjectMeta: w.meta(), Spec: appsv1.StatefulSetSpec{
		Replicas:    w.replicas(),
		ServiceName: w.Name,
		Selector:    &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.Name}},
		Template:    w.template(),
	}}
	for _, e := range edit {
		e(s)
	}
	ctx := context.Background()
	if _, err := n.c.Client.AppsV1().StatefulSets(n.Name).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("creating statefulset %s: %v", w.Name, err)
	}
	n.waitReady(tb, "statefulset "+w.Name, func(ctx context.Context) (bool, error) {
		got, err := n.c.Client.AppsV1().StatefulSets(n.Name).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		s = got
		st := got.Status
		return st.ObservedGeneration >= got.Generation && st.ReadyReplicas == *got.Spec.Replicas &&
			st.UpdatedReplicas == *got.Spec.Replicas && st.CurrentRevision == st.UpdateRevision, nil
	})
	return s
}

// DaemonSet creates a DaemonSet (edit changes it first) and waits until
// its pod on every node is Ready.
func (n *Namespace) DaemonSet(tb testing.TB, w Workload, edit ...func(*appsv1.DaemonSet)) *appsv1.DaemonSet {
	tb.Helper()
	d := &appsv1.DaemonSet{ObjectMeta: w.meta(), Spec: appsv1.DaemonSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": w.Name}},
		Template: w.template(),
	}}
	for _, e := range edit {
		e(d)
	}
	ctx := context.Background()
	if _, err := n.c.Client.AppsV1().DaemonSets(n.Name).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("creating daemonset %s: %v", w.Name, err)
	}
	n.waitReady(tb, "daemonset "+w.Name, func(ctx context.Context) (bool, error) {
		got, err := n.c.Client.AppsV1().DaemonSets(n.Name).Get(ctx, w.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		d = got
		st := got.Status
		return st.ObservedGeneration >= got.Generation && st.DesiredNumberScheduled == int32(len(Nodes)) &&
			st.UpdatedNumberScheduled == st.DesiredNumberScheduled && st.NumberAvailable == st.DesiredNumberScheduled, nil
	})
	return d
}

func (n *Namespace) waitReady(tb testing.TB, what string, ok func(context.Context) (bool, error)) {
	tb.Helper()
	if err := n.c.waitFor(60*time.Second, what, ok); err != nil {
		tb.Fatal(err)
	}
}
