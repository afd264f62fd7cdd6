package kubetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listerscorev1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Nodes are the names of the Node objects the harness keeps Ready: a
// DaemonSet runs one pod on each.
var Nodes = []string{"node-a", "node-b"}

// LogsNode is the node whose kubelet answers for logs (the harness serves
// its API on loopback): the pods of a namespace given Logs go there. Its
// taint keeps DaemonSets off it; the others have no kubelet address, so
// the API server cannot get their pods' logs.
const LogsNode = "node-logs"

// node plays the kubelet of every node: it binds pods, reports them
// Running (and Ready, unless a namespace's rules say otherwise) and
// finishes their deletion.
type node struct {
	client kubernetes.Interface
	pods   listerscorev1.PodLister
	queue  workqueue.TypedRateLimitingInterface[string]

	mu    sync.Mutex
	rules map[string]*rules // by namespace
	next  int               // round robin over Nodes
}

// rules are a namespace's departures from healthy pods, by container image
// (as the pod spec names it).
type rules struct {
	neverReady map[string]bool
	restarts   map[string]int32
	digests    map[string]string
	// logs and previous are what the kubelet answers for a container
	// running an image, current and before its last restart; with
	// serveLogs the namespace's pods go to LogsNode, whose kubelet
	// answers.
	serveLogs      bool
	logs, previous map[string]string
	// logsHang makes the kubelet hold every log request until the API
	// server gives up on it: a node that answers slowly.
	logsHang bool
}

func startNode(ctx context.Context, client kubernetes.Interface) (*node, error) {
	nd := &node{
		client: client,
		queue:  workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		rules:  map[string]*rules{},
	}
	for _, n := range Nodes {
		if err := createNode(ctx, client, n, 0); err != nil {
			return nil, err
		}
	}
	kubelet := httptest.NewUnstartedServer(http.HandlerFunc(nd.serveLogs))
	kubelet.StartTLS()
	go func() {
		<-ctx.Done()
		kubelet.Close()
	}()
	if err := createNode(ctx, client, LogsNode, kubelet.Listener.Addr().(*net.TCPAddr).Port); err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactory(client, 0)
	inf := factory.Core().V1().Pods()
	nd.pods = inf.Lister()
	enqueue := func(obj any) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			nd.queue.Add(key)
		}
	}
	if _, err := inf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
	}); err != nil {
		return nil, err
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go func() {
		<-ctx.Done()
		nd.queue.ShutDown()
	}()
	for range 2 {
		go nd.work(ctx)
	}
	return nd, nil
}

// createNode makes a Ready node; with a kubeletPort, one whose kubelet
// listens on 127.0.0.1 there (the API server asks it for logs), tainted
// so that only the pods the harness places on it run there.
func createNode(ctx context.Context, client kubernetes.Interface, name string, kubeletPort int) error {
	n, err := client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:   name,
		Labels: map[string]string{"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"},
	}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating node %s: %w", name, err)
	}
	now := metav1.Now()
	n.Status = corev1.NodeStatus{
		Conditions: []corev1.NodeCondition{{
			Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady",
			LastHeartbeatTime: now, LastTransitionTime: now,
		}},
		Capacity:    corev1.ResourceList{corev1.ResourcePods: mustQuantity("110")},
		Allocatable: corev1.ResourceList{corev1.ResourcePods: mustQuantity("110")},
	}
	if kubeletPort > 0 {
		n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}}
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(kubeletPort)
	}
	if n, err = client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("marking node %s ready: %w", name, err)
	}
	// The API server taints a new node not-ready (NoSchedule) until the
	// node lifecycle controller sees it Ready; that controller does not
	// run here, so the node lifts it itself, or no DaemonSet would run.
	n.Spec.Taints = nil
	if kubeletPort > 0 {
		n.Spec.Taints = []corev1.Taint{{Key: "lkg.dev/logs-only", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
	}
	if _, err := client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("untainting node %s: %w", name, err)
	}
	return nil
}

func (nd *node) work(ctx context.Context) {
	for {
		key, shutdown := nd.queue.Get()
		if shutdown {
			return
		}
		if err := nd.sync(ctx, key); err != nil && ctx.Err() == nil {
			nd.queue.AddRateLimited(key)
		} else {
			nd.queue.Forget(key)
		}
		nd.queue.Done(key)
	}
}

// requeue looks again at every pod of namespace, after its rules changed.
func (nd *node) requeue(namespace string) {
	pods, _ := nd.pods.Pods(namespace).List(everything)
	for _, p := range pods {
		nd.queue.Add(p.Namespace + "/" + p.Name)
	}
}

func (nd *node) sync(ctx context.Context, key string) error {
	ns, podName, _ := strings.Cut(key, "/")
	pod, err := nd.pods.Pods(ns).Get(podName)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pods := nd.client.CoreV1().Pods(ns)
	switch {
	case pod.DeletionTimestamp != nil:
		// A kubelet stops the containers, then deletes the pod for good.
		zero := int64(0)
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	case pod.Spec.NodeName == "":
		err := pods.Bind(ctx, &corev1.Binding{
			ObjectMeta: metav1.ObjectMeta{Name: pod.Name, UID: pod.UID},
			Target:     corev1.ObjectReference{Kind: "Node", Name: nd.place(pod)},
		}, metav1.CreateOptions{})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	status, restarted := nd.status(ctx, pod)
	if sameStatus(pod.Status, status) {
		return nil
	}
	updated := pod.DeepCopy()
	updated.Status = status
	if _, err := pods.UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	for _, c := range restarted {
		nd.event(ctx, pod, c)
	}
	return nil
}

// place is the node a pod goes to: the one a DaemonSet's pod names in its
// affinity, else the next in turn.
func (nd *node) place(pod *corev1.Pod) string {
	if a := pod.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		for _, term := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
			for _, f := range term.MatchFields {
				if f.Key == "metadata.name" && len(f.Values) > 0 {
					return f.Values[0]
				}
			}
		}
	}
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if r := nd.rules[pod.Namespace]; r != nil && r.serveLogs {
		return LogsNode
	}
	nd.next++
	return Nodes[nd.next%len(Nodes)]
}

// serveLogs is LogsNode's kubelet answering the API server's
// /containerLogs/NAMESPACE/POD/CONTAINER with what the namespace's rules
// say the image logged, tailLines honoured; previous=true for a
// container that never restarted is the kubelet's 400.
func (nd *node) serveLogs(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/containerLogs/"), "/")
	if len(parts) != 3 {
		http.NotFound(w, r)
		return
	}
	ns, podName, container := parts[0], parts[1], parts[2]
	pod, err := nd.pods.Pods(ns).Get(podName)
	if err != nil {
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	}
	image := ""
	for _, c := range pod.Spec.Containers {
		if c.Name == container {
			image = c.Image
		}
	}
	nd.mu.Lock()
	rl := nd.rules[ns]
	hang := rl != nil && rl.logsHang
	nd.mu.Unlock()
	if hang {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Minute):
		}
		http.Error(w, "timed out", http.StatusGatewayTimeout)
		return
	}
	nd.mu.Lock()
	var text string
	var restarts int32
	if rl != nil {
		text, restarts = rl.logs[image], rl.restarts[image]
		if r.URL.Query().Get("previous") == "true" {
			text = rl.previous[image]
		}
	}
	nd.mu.Unlock()
	if r.URL.Query().Get("previous") == "true" && restarts == 0 {
		http.Error(w, fmt.Sprintf("previous terminated container %q in pod %q not found", container, podName), http.StatusBadRequest)
		return
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("tailLines")); err == nil && n >= 0 {
		lines := strings.SplitAfter(text, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		if len(lines) > n {
			text = strings.Join(lines[len(lines)-n:], "")
		}
	}
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprint(w, text)
}

// status is what a kubelet would report for pod now, and the containers
// that are to be seen restarting (an event each).
func (nd *node) status(ctx context.Context, pod *corev1.Pod) (corev1.PodStatus, []string) {
	nd.mu.Lock()
	r := nd.rules[pod.Namespace]
	nd.mu.Unlock()
	now := metav1.Now()
	old := map[string]corev1.ContainerStatus{}
	for _, cs := range pod.Status.ContainerStatuses {
		old[cs.Name] = cs
	}
	st := corev1.PodStatus{Phase: corev1.PodRunning, HostIP: "127.0.0.1", StartTime: pod.Status.StartTime}
	if st.StartTime == nil {
		st.StartTime = &now
	}
	ready := true
	var restarted []string
	for _, c := range pod.Spec.Containers {
		cs := corev1.ContainerStatus{
			Name: c.Name, Image: c.Image,
			ContainerID: "containerd://" + shortHash(string(pod.UID)+"/"+c.Name),
		}
		id, err := nd.imageID(ctx, r, c.Image)
		switch {
		case err != nil:
			cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: err.Error()}
			cs.ContainerID = ""
		default:
			cs.ImageID = id
			started := now
			if o, ok := old[c.Name]; ok && o.State.Running != nil && o.Image == c.Image {
				started = o.State.Running.StartedAt
			}
			cs.State.Running = &corev1.ContainerStateRunning{StartedAt: started}
			t := true
			cs.Started = &t
			cs.Ready = r == nil || !r.neverReady[c.Image]
			if r != nil && r.restarts[c.Image] > 0 {
				cs.RestartCount = r.restarts[c.Image]
				cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error", FinishedAt: now}
				if old[c.Name].RestartCount != cs.RestartCount {
					restarted = append(restarted, c.Name)
				}
			}
		}
		ready = ready && cs.Ready
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	for _, c := range pod.Spec.InitContainers {
		st.InitContainerStatuses = append(st.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Ready: true,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}},
		})
	}
	cond := func(t corev1.PodConditionType, ok bool) corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		c := corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now}
		for _, o := range pod.Status.Conditions {
			if o.Type == t && o.Status == s {
				c.LastTransitionTime = o.LastTransitionTime
			}
		}
		if !ok {
			c.Reason = "ContainersNotReady"
		}
		return c
	}
	st.Conditions = []corev1.PodCondition{
		cond(corev1.PodScheduled, true), cond(corev1.PodInitialized, true),
		cond(corev1.ContainersReady, ready), cond(corev1.PodReady, ready),
	}
	return st, restarted
}

// imageID is what the runtime reports for image: the repository at the
// digest it pulled. An image by digest names it; a tag is looked up in the
// namespace's digests, then asked of its registry.
func (nd *node) imageID(ctx context.Context, r *rules, image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", fmt.Errorf("parsing image reference %q: %w", image, err)
	}
	if d, ok := ref.(name.Digest); ok {
		return d.Context().Name() + "@" + d.DigestStr(), nil
	}
	if r != nil && r.digests[image] != "" {
		return ref.Context().Name() + "@" + r.digests[image], nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	desc, err := remote.Head(ref, remote.WithContext(ctx))
	if err != nil {
		return "", fmt.Errorf("pulling %q: %w", image, err)
	}
	return ref.Context().Name() + "@" + desc.Digest.String(), nil
}

func (nd *node) event(ctx context.Context, pod *corev1.Pod, container string) {
	now := metav1.Now()
	nd.client.CoreV1().Events(pod.Namespace).Create(ctx, &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{GenerateName: pod.Name + "."},
		InvolvedObject: corev1.ObjectReference{
			Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, APIVersion: "v1",
			FieldPath: "spec.containers{" + container + "}",
		},
		Reason: "BackOff", Type: corev1.EventTypeWarning,
		Message:        "Back-off restarting failed container " + container + " in pod " + pod.Name,
		Source:         corev1.EventSource{Component: "kubelet", Host: pod.Spec.NodeName},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
}

// sameStatus says whether a pod already reports what status says, so the
// harness does not write (and wake every controller) for nothing.
func sameStatus(a, b corev1.PodStatus) bool {
	if a.Phase != b.Phase || len(a.ContainerStatuses) != len(b.ContainerStatuses) || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i, c := range b.ContainerStatuses {
		o := a.ContainerStatuses[i]
		if o.Name != c.Name || o.Image != c.Image || o.ImageID != c.ImageID || o.Ready != c.Ready ||
			o.RestartCount != c.RestartCount || (o.State.Waiting == nil) != (c.State.Waiting == nil) {
			return false
		}
	}
	for i, c := range b.Conditions {
		if a.Conditions[i].Type != c.Type || a.Conditions[i].Status != c.Status {
			return false
		}
	}
	return true
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
