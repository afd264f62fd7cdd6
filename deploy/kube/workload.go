package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lkg-dev/lkg/internal/config"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Options choose the cluster, the kubectl way.
type Options struct {
	// Kubeconfig is the kubeconfig file. The default is kubectl's:
	// $KUBECONFIG (a list of files, merged), else ~/.kube/config, else
	// the in-cluster service account.
	Kubeconfig string
	// Context is the kubeconfig context (--kube-context, or context: in
	// the environment). The default is the kubeconfig's current context.
	Context string
	// RequestTimeout bounds each API request. The default is 30 seconds.
	RequestTimeout time.Duration
}

// Workload is one target's workload, on the cluster its options chose.
type Workload struct {
	Ref     Ref
	client  kubernetes.Interface
	cluster string // the context and server, for messages

	// beforePatch, when set, runs before each patch attempt: tests race
	// another writer against the patch with it.
	beforePatch func(attempt int)
}

// Open connects to the cluster opts choose for ref. Nothing is asked of
// the cluster yet: a kubeconfig that names no usable cluster is the only
// error.
func Open(ref Ref, opts Options) (*Workload, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if opts.Kubeconfig != "" {
		rules.ExplicitPath = opts.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: choosing the cluster: %w", ref, err)
	}
	name := opts.Context
	if name == "" {
		if raw, err := cc.RawConfig(); err == nil {
			name = raw.CurrentContext
		}
	}
	cluster := cfg.Host
	if name != "" {
		cluster = fmt.Sprintf("context %q at %s", name, cfg.Host)
	}
	return newWorkload(ref, cfg, cluster, opts.RequestTimeout)
}

// New is Open with a client configuration made elsewhere.
func New(ref Ref, cfg *rest.Config) (*Workload, error) {
	return newWorkload(ref, rest.CopyConfig(cfg), cfg.Host, 0)
}

func newWorkload(ref Ref, cfg *rest.Config, cluster string, timeout time.Duration) (*Workload, error) {
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cfg.Timeout = timeout
	cfg.UserAgent = "lkg"
	// A deploy makes a handful of requests; client-go's default of 5 a
	// second would still delay the read-back after the patch.
	cfg.QPS, cfg.Burst = 50, 100
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ref, err)
	}
	return &Workload{Ref: ref, client: client, cluster: cluster}, nil
}

// view is what lkg reads of any of the three kinds.
type view struct {
	obj      runtime.Object
	meta     *metav1.ObjectMeta
	template *corev1.PodTemplateSpec
	selector *metav1.LabelSelector
	paused   bool   // a Deployment's spec.paused
	revision string // what the kind calls the template's revision
}

func viewOf(obj runtime.Object) *view {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &view{obj: o, meta: &o.ObjectMeta, template: &o.Spec.Template, selector: o.Spec.Selector, paused: o.Spec.Paused,
			revision: o.Annotations["deployment.kubernetes.io/revision"]}
	case *appsv1.StatefulSet:
		return &view{obj: o, meta: &o.ObjectMeta, template: &o.Spec.Template, selector: o.Spec.Selector, revision: o.Status.UpdateRevision}
	case *appsv1.DaemonSet:
		return &view{obj: o, meta: &o.ObjectMeta, template: &o.Spec.Template, selector: o.Spec.Selector,
			revision: fmt.Sprint(o.Generation)}
	}
	panic(fmt.Sprintf("kube: unexpected object %T", obj))
}

func (w *Workload) get(ctx context.Context) (*view, error) {
	var obj runtime.Object
	var err error
	apps, ns, name := w.client.AppsV1(), w.Ref.Namespace, w.Ref.Name
	switch w.Ref.Kind {
	case Deployment:
		obj, err = apps.Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	case StatefulSet:
		obj, err = apps.StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
	case DaemonSet:
		obj, err = apps.DaemonSets(ns).Get(ctx, name, metav1.GetOptions{})
	}
	if err != nil {
		return nil, w.apiError(ctx, "get", err)
	}
	return viewOf(obj), nil
}

func (w *Workload) patch(ctx context.Context, data []byte, opts metav1.PatchOptions) (*view, error) {
	var obj runtime.Object
	var err error
	apps, ns, name := w.client.AppsV1(), w.Ref.Namespace, w.Ref.Name
	pt := types.StrategicMergePatchType
	switch w.Ref.Kind {
	case Deployment:
		obj, err = apps.Deployments(ns).Patch(ctx, name, pt, data, opts)
	case StatefulSet:
		obj, err = apps.StatefulSets(ns).Patch(ctx, name, pt, data, opts)
	case DaemonSet:
		obj, err = apps.DaemonSets(ns).Patch(ctx, name, pt, data, opts)
	}
	if err != nil {
		return nil, err
	}
	return viewOf(obj), nil
}

func (w *Workload) watch(ctx context.Context, resourceVersion string) (watch.Interface, error) {
	apps, ns := w.client.AppsV1(), w.Ref.Namespace
	opts := metav1.ListOptions{FieldSelector: "metadata.name=" + w.Ref.Name, ResourceVersion: resourceVersion}
	switch w.Ref.Kind {
	case Deployment:
		return apps.Deployments(ns).Watch(ctx, opts)
	case StatefulSet:
		return apps.StatefulSets(ns).Watch(ctx, opts)
	default:
		return apps.DaemonSets(ns).Watch(ctx, opts)
	}
}

// container is the target's container in the template: the one it
// names, or the only one.
func (w *Workload) container(v *view) (*corev1.Container, error) {
	cs := v.template.Spec.Containers
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	if w.Ref.Container == "" {
		if len(cs) == 1 {
			return &cs[0], nil
		}
		return nil, badTarget(w.Ref.String(), "its pods have %d containers (%s): name one, like %s#%s",
			len(cs), strings.Join(names, ", "), w.Ref, names[0])
	}
	for i := range cs {
		if cs[i].Name == w.Ref.Container {
			return &cs[i], nil
		}
	}
	near := config.Nearest(w.Ref.Container, names)
	if near != "" {
		r := w.Ref
		r.Container = near
		return nil, badTarget(w.Ref.String(), "no container %q. Did you mean %s? Its containers: %s",
			w.Ref.Container, r, strings.Join(names, ", "))
	}
	return nil, badTarget(w.Ref.String(), "no container %q. Its containers: %s",
		w.Ref.Container, strings.Join(names, ", "))
}

// State is what the workload holds now.
type State struct {
	// Image is the target container's image in the pod template.
	Image string
	// Container is that container's name.
	Container string
	// Generation is the workload's metadata.generation.
	Generation int64
	// Revision is the template's revision as the kind counts it: a
	// Deployment's deployment.kubernetes.io/revision, a StatefulSet's
	// update revision, a DaemonSet's generation.
	Revision string
	// Paused is a Deployment's spec.paused.
	Paused bool
	// Pods are the workload's pods and what they run, old ones included.
	Pods []Pod
	// Warnings name automation that will put the workload back (Argo CD,
	// Flux), with the command that pauses it.
	Warnings []string

	resourceVersion string
}

// Digest is the one digest the pods run, terminating ones aside (the
// spec's, when it names one and no pod reports), or "" when they
// disagree or none says.
func (s *State) Digest() string {
	seen := map[string]bool{}
	for _, p := range s.Pods {
		if p.Digest != "" && !p.Terminating {
			seen[p.Digest] = true
		}
	}
	if len(seen) == 1 {
		for d := range seen {
			return d
		}
	}
	if len(seen) == 0 {
		return digestOf(s.Image)
	}
	return ""
}

// Read reads the workload, its pods and the automation that owns it.
func (w *Workload) Read(ctx context.Context) (*State, error) {
	v, err := w.get(ctx)
	if err != nil {
		return nil, err
	}
	return w.state(ctx, v)
}

func (w *Workload) state(ctx context.Context, v *view) (*State, error) {
	c, err := w.container(v)
	if err != nil {
		return nil, err
	}
	s := &State{
		Image: c.Image, Container: c.Name, Generation: v.meta.Generation, Revision: v.revision,
		Paused: v.paused, Warnings: gitopsOwners(w.Ref, v.meta), resourceVersion: v.meta.ResourceVersion,
	}
	if s.Pods, err = w.pods(ctx, v, c.Name); err != nil {
		return nil, err
	}
	return s, nil
}

// errPaused is ErrPaused with the command that resumes the Deployment.
func (w *Workload) errPaused() error {
	return fmt.Errorf("%w: %s is paused, so a new image would not roll out. Resume it first: kubectl -n %s rollout resume %s",
		ErrPaused, w.Ref, w.Ref.Namespace, w.Ref.kubectlName())
}
