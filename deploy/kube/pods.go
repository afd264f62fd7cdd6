package kube

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

// Pod is what one of the workload's pods runs in the target container,
// as its containerStatuses say (the runtime's word), not only its spec.
type Pod struct {
	Name string
	Node string
	// Image is the container's image as the pod spec names it.
	Image string
	// ImageID is the runtime's imageID: the repository at the digest it
	// pulled ("" until the container has started).
	ImageID string
	// Digest is ImageID's digest, sha256:…; "" when it names none.
	Digest string
	// Current says the pod runs the workload's current template image;
	// false for a pod of an older ReplicaSet or revision.
	Current bool
	// Terminating says the pod is being deleted: a rollout counts it
	// gone (kubectl's rule does), and so does what the workload runs.
	Terminating bool
	Ready       bool
	Restarts    int32
	// Waiting is why the container is not running (ErrImagePull,
	// CrashLoopBackOff…), or "".
	Waiting string
	// Warning is the pod's latest warning event ("BackOff: Back-off
	// restarting failed container"), or "".
	Warning string
}

// pods lists the workload's pods (by its selector, owned by it or by its
// ReplicaSets) and what the container runs in each.
func (w *Workload) pods(ctx context.Context, v *view, container string) ([]Pod, error) {
	list, _, err := w.podObjects(ctx, v)
	if err != nil {
		return nil, err
	}
	image := ""
	for _, c := range v.template.Spec.Containers {
		if c.Name == container {
			image = c.Image
		}
	}
	var pods []Pod
	for _, p := range list {
		pod := Pod{Name: p.Name, Node: p.Spec.NodeName, Terminating: p.DeletionTimestamp != nil}
		for _, c := range p.Spec.Containers {
			if c.Name == container {
				pod.Image = c.Image
			}
		}
		pod.Current = pod.Image == image
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name != container {
				continue
			}
			pod.ImageID, pod.Digest = cs.ImageID, digestOf(cs.ImageID)
			pod.Ready, pod.Restarts = cs.Ready, cs.RestartCount
			if cs.State.Waiting != nil {
				pod.Waiting = cs.State.Waiting.Reason
			}
		}
		pods = append(pods, pod)
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	w.warnings(ctx, pods)
	return pods, nil
}

// podObjects are the workload's pods as the API server has them, and the
// UIDs that own them (the workload, its ReplicaSets).
func (w *Workload) podObjects(ctx context.Context, v *view) ([]corev1.Pod, map[string]bool, error) {
	sel, err := metav1.LabelSelectorAsSelector(v.selector)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: its selector: %w", w.Ref, err)
	}
	list, err := w.client.CoreV1().Pods(w.Ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, nil, w.apiErrorOn(ctx, "list", "", "pods", err)
	}
	owners, err := w.owners(ctx, v)
	if err != nil {
		return nil, nil, err
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if ownedBy(&p, owners) {
			pods = append(pods, p)
		}
	}
	return pods, owners, nil
}

// owners are the UIDs whose pods are the workload's: the workload itself,
// and for a Deployment its ReplicaSets, old ones included.
func (w *Workload) owners(ctx context.Context, v *view) (map[string]bool, error) {
	owners := map[string]bool{string(v.meta.UID): true}
	if w.Ref.Kind != Deployment {
		return owners, nil
	}
	sel, _ := metav1.LabelSelectorAsSelector(v.selector)
	rs, err := w.client.AppsV1().ReplicaSets(w.Ref.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
	if err != nil {
		return nil, w.apiErrorOn(ctx, "list", "apps", "replicasets", err)
	}
	for _, r := range rs.Items {
		if ownedBy(&r, owners) {
			owners[string(r.UID)] = true
		}
	}
	return owners, nil
}

func ownedBy(obj metav1.Object, owners map[string]bool) bool {
	for _, o := range obj.GetOwnerReferences() {
		if o.Controller != nil && *o.Controller && owners[string(o.UID)] {
			return true
		}
	}
	return false
}

// warnings sets each pod that is not Ready, or restarted, its latest
// warning event. Events are a help, not the answer: without the right to
// list them, pods go without.
func (w *Workload) warnings(ctx context.Context, pods []Pod) {
	for i, p := range pods {
		if p.Ready && p.Restarts == 0 {
			continue
		}
		evs, err := w.client.CoreV1().Events(w.Ref.Namespace).List(ctx, metav1.ListOptions{
			FieldSelector: fields.AndSelectors(
				fields.OneTermEqualSelector("involvedObject.name", p.Name),
				fields.OneTermEqualSelector("type", corev1.EventTypeWarning),
			).String(),
		})
		if err != nil {
			return
		}
		var latest *corev1.Event
		for j := range evs.Items {
			e := &evs.Items[j]
			if latest == nil || e.LastTimestamp.After(latest.LastTimestamp.Time) {
				latest = e
			}
		}
		if latest != nil {
			pods[i].Warning = latest.Reason + ": " + latest.Message
		}
	}
}

// Problems says, one phrase per pod, why pods are not ready or restart:
// what a failed rollout's error adds.
func (s *State) Problems() []string {
	var out []string
	for _, p := range s.Pods {
		if p.Terminating {
			continue
		}
		var why []string
		if p.Waiting != "" {
			why = append(why, p.Waiting)
		} else if !p.Ready {
			why = append(why, "not ready")
		}
		if p.Restarts > 0 {
			why = append(why, fmt.Sprintf("restarted %d times", p.Restarts))
		}
		if len(why) == 0 {
			continue
		}
		if p.Warning != "" {
			why = append(why, p.Warning)
		}
		out = append(out, fmt.Sprintf("pod %s (%s): %s", p.Name, shortImage(p.Image), strings.Join(why, ", ")))
	}
	return out
}

// Holds says in one line what the spec names and what the pods run, by
// template and readiness: "the spec names shop@sha256:bbbbbbbbbbbb; pods:
// 1 at sha256:bbbbbbbbbbbb not ready, 3 of the old template at
// sha256:aaaaaaaaaaaa".
func (s *State) Holds() string {
	type key struct {
		current, ready bool
		digest         string
	}
	counts := map[key]int{}
	var keys []key
	for _, p := range s.Pods {
		if p.Terminating {
			continue
		}
		k := key{p.Current, p.Ready, p.Digest}
		if counts[k] == 0 {
			keys = append(keys, k)
		}
		counts[k]++
	}
	sort.SliceStable(keys, func(i, j int) bool { return keys[i].current && !keys[j].current })
	var parts []string
	for _, k := range keys {
		part := fmt.Sprintf("%d at %s", counts[k], shortImage("@" + k.digest)[1:])
		if k.digest == "" {
			part = fmt.Sprintf("%d not started", counts[k])
		}
		if !k.current {
			part = strings.Replace(part, " ", " of the old template ", 1)
		}
		if !k.ready && k.digest != "" {
			part += " not ready"
		}
		parts = append(parts, part)
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	return fmt.Sprintf("the spec names %s; pods: %s", shortImage(s.Image), strings.Join(parts, ", "))
}

// digestOf is the digest in an image reference or a runtime's imageID
// ("docker-pullable://repo@sha256:…", "repo@sha256:…"), or "". A bare
// "sha256:…" imageID is the runtime's image ID (its config's digest), not
// a manifest digest a registry knows, so it gives "".
func digestOf(ref string) string {
	_, d, ok := strings.Cut(ref, "@")
	if !ok || !strings.HasPrefix(d, "sha256:") {
		return ""
	}
	return d
}

// shortImage is an image for a message: a digest cut to 12 hex digits.
func shortImage(image string) string {
	if i := strings.Index(image, "@sha256:"); i >= 0 && len(image) > i+8+12 {
		return image[:i+8+12]
	}
	return image
}
