package kube

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lkg-dev/lkg/deploy"
	"github.com/lkg-dev/lkg/internal/text"
	"github.com/lkg-dev/lkg/journal"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
)

var _ deploy.EvidenceTaker = (*Target)(nil)

const (
	// maxLogPods bounds how many pods' logs a capture reads: a rollout
	// replaces hundreds of pods, and the budget is seconds. The pods
	// that restarted most come first, so the crashing ones are in.
	maxLogPods = 5
	// logTailLines is how many lines of each container's log are asked
	// for; perUnit then caps them in bytes.
	logTailLines = 500
)

// Evidence is what the workload's pods are doing before a move replaces
// them (and with them the crashed containers' logs and exit codes): each
// pod's phase, the target container's restarts, its last termination's
// reason and exit code, the workload's, its ReplicaSets' and its pods'
// Warning events, and the logs, current and previous container, of at
// most maxLogPods pods, the crashing ones first. Only status, events and
// logs are read: never the pod spec's environment, never a Secret.
func (t *Target) Evidence(ctx context.Context, perUnit int64) (journal.Evidence, error) {
	return t.w.Evidence(ctx, perUnit)
}

// Evidence is Target.Evidence for the workload.
func (w *Workload) Evidence(ctx context.Context, perUnit int64) (journal.Evidence, error) {
	var ev journal.Evidence
	v, err := w.get(ctx)
	if err != nil {
		return ev, err
	}
	c, err := w.container(v)
	if err != nil {
		return ev, err
	}
	pods, owners, err := w.podObjects(ctx, v)
	if err != nil {
		return ev, err
	}
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		p := &pods[i]
		byName[p.Name] = p
		ev.Units = append(ev.Units, unitOf(p, c.Name))
	}
	if events, err := w.warningEvents(ctx, owners, pods); err != nil {
		ev.Notes = append(ev.Notes, "events unavailable: "+text.OneLine(err))
	} else {
		ev.Events = events
	}

	// The logs of the pods that restarted most (then those not ready),
	// within what is left of the budget. Without a kubelet to answer, or
	// the right to read pods/log, the first failure says why for all.
	order := logOrder(ev.Units)
	if len(order) > maxLogPods {
		ev.Notes = append(ev.Notes, fmt.Sprintf("logs of %d pod(s) of %d read, those that restarted most", maxLogPods, len(order)))
		order = order[:maxLogPods]
	}
	// The pods' logs are read side by side: each is a request the API
	// server relays to a kubelet, and the budget is for all of them.
	// Only the first failure, in the order above, is said.
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for k, i := range order {
		u := &ev.Units[i]
		wg.Go(func() {
			logs, cut, err := w.podLogs(ctx, byName[u.Name], c.Name, u.Restarts > 0, perUnit)
			u.Logs, u.LogsTruncated, errs[k] = logs, cut, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && ctx.Err() == nil {
			ev.Notes = append(ev.Notes, "logs unavailable: "+text.OneLine(err))
			break
		}
	}
	return ev, ctx.Err()
}

// logOrder is the order in which units' logs are read: most restarts
// first, then those not ready, then as listed.
func logOrder(units []journal.EvidenceUnit) []int {
	order := make([]int, len(units))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := units[order[a]], units[order[b]]
		if x.Restarts != y.Restarts {
			return x.Restarts > y.Restarts
		}
		return x.Health != "ready" && y.Health == "ready"
	})
	return order
}

// unitOf is what pod's container says of itself: its state (the waiting
// reason, CrashLoopBackOff..., else the pod's phase), readiness,
// restarts, and its last termination's reason and exit code.
func unitOf(p *corev1.Pod, container string) journal.EvidenceUnit {
	u := journal.EvidenceUnit{Name: p.Name, State: string(p.Status.Phase)}
	if p.DeletionTimestamp != nil {
		u.State += " (terminating)"
	}
	for _, c := range p.Spec.Containers {
		if c.Name == container {
			u.Image = c.Image
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		if digestOf(cs.ImageID) != "" {
			u.Image = cs.ImageID
		}
		u.Restarts = int(cs.RestartCount)
		u.Health = "not ready"
		if cs.Ready {
			u.Health = "ready"
		}
		term := cs.LastTerminationState.Terminated
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			u.State = cs.State.Waiting.Reason
		case cs.State.Terminated != nil:
			u.State, term = "Terminated", cs.State.Terminated
		}
		if term != nil {
			u.ExitCode, u.OOMKilled = int(term.ExitCode), term.Reason == "OOMKilled"
			u.Reason = term.Reason
			if m := strings.TrimSpace(term.Message); m != "" {
				u.Reason += ": " + strings.Join(strings.Fields(m), " ")
			}
		}
	}
	return u
}

// warningEvents are the namespace's Warning events about the workload,
// its ReplicaSets (owners) and its pods, oldest first: "Pod shop-7d9-x2:
// BackOff: Back-off restarting failed container (×4)".
func (w *Workload) warningEvents(ctx context.Context, owners map[string]bool, pods []corev1.Pod) ([]string, error) {
	list, err := w.client.CoreV1().Events(w.Ref.Namespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("type", corev1.EventTypeWarning).String(),
	})
	if err != nil {
		return nil, w.apiErrorOn(ctx, "list", "", "events", err)
	}
	ours := maps.Clone(owners)
	for i := range pods {
		ours[string(pods[i].UID)] = true
	}
	type event struct {
		at   time.Time
		line string
	}
	var evs []event
	for _, e := range list.Items {
		if !ours[string(e.InvolvedObject.UID)] {
			continue
		}
		at := e.LastTimestamp.Time
		if at.IsZero() {
			at = e.EventTime.Time
		}
		if at.IsZero() {
			at = e.CreationTimestamp.Time
		}
		line := fmt.Sprintf("%s %s: %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, strings.TrimSpace(e.Message))
		if e.Count > 1 {
			line += fmt.Sprintf(" (×%d)", e.Count)
		}
		evs = append(evs, event{at, line})
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.line
	}
	return out, nil
}

// podLogs is the end of the container's log in pod, and with previous the
// end of the log of the container that ran before its last restart (the
// crash's own lines), at most limit bytes in all.
func (w *Workload) podLogs(ctx context.Context, p *corev1.Pod, container string, previous bool, limit int64) (string, bool, error) {
	each := limit
	if previous && limit > 0 {
		each = limit / 2
	}
	var b strings.Builder
	cut := false
	if previous {
		out, c, err := w.containerLog(ctx, p, container, true, each)
		if err != nil {
			return "", false, err
		}
		fmt.Fprintf(&b, "--- %s, previous container (before the last restart) ---\n%s", p.Name, out)
		cut = c
	}
	out, c, err := w.containerLog(ctx, p, container, false, each)
	if err != nil {
		return "", false, err
	}
	if previous {
		fmt.Fprintf(&b, "--- %s, current container ---\n", p.Name)
	}
	b.WriteString(out)
	return b.String(), cut || c, nil
}

func (w *Workload) containerLog(ctx context.Context, p *corev1.Pod, container string, previous bool, limit int64) (string, bool, error) {
	tail := int64(logTailLines)
	raw, err := w.client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{
		Container: container, Previous: previous, TailLines: &tail,
	}).DoRaw(ctx)
	if err != nil {
		// The API server answers a log request it cannot relay to the
		// kubelet with a 500 whose Status client-go does not decode
		// ("unknown"): its message, in the body, says what failed.
		why := statusMessage(err)
		var st metav1.Status
		if json.Unmarshal(raw, &st) == nil && st.Message != "" {
			why = st.Message
		}
		return "", false, fmt.Errorf("pod %s: %s", p.Name, why)
	}
	if limit > 0 && int64(len(raw)) > limit {
		raw = raw[int64(len(raw))-limit:]
		if i := bytes.IndexByte(raw, '\n'); i >= 0 && i < len(raw)-1 {
			raw = raw[i+1:] // whole lines
		}
		return string(raw), true, nil
	}
	if len(raw) > 0 && raw[len(raw)-1] != '\n' {
		raw = append(raw, '\n')
	}
	return string(raw), false, nil
}
