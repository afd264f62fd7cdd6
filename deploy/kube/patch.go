package kube

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ChangeCause is the annotation that `kubectl rollout history` shows for
// each revision; the Deployment controller copies it to the ReplicaSet.
const ChangeCause = "kubernetes.io/change-cause"

// fieldManager names lkg in the workload's managedFields.
const fieldManager = "lkg"

// SetImage sets the target container's image to image (HOST/REPO@sha256:…)
// with cause as the change-cause, by a strategic-merge patch, and returns
// the workload's generation after it.
//
// expect is the image the caller read and journaled as the one before;
// "" skips the check. The patch carries the resourceVersion of the read
// that showed expect, so any writer in between makes it a conflict rather
// than a lost update. On a conflict the workload is read again: if the
// container still holds expect it is patched once more, else the move
// stops with ErrChanged, since what was journaled as the previous image
// would be wrong. A second writer of the pod template is ErrConflict; the
// controllers' writes of the status are not (maxAttempts). A paused Deployment is
// refused (ErrPaused) before anything is written.
func (w *Workload) SetImage(ctx context.Context, image, expect, cause string) (generation int64, err error) {
	v, err := w.patchImage(ctx, image, expect, cause, false)
	if err != nil {
		return 0, err
	}
	return v.meta.Generation, nil
}

// DryRun sends SetImage's patch as a server-side dry run: authentication,
// RBAC, admission webhooks and policies answer as they would for the real
// patch, and nothing is stored (`lkg check` runs it during the drill).
func (w *Workload) DryRun(ctx context.Context, image, cause string) error {
	_, err := w.patchImage(ctx, image, "", cause, true)
	return err
}

func (w *Workload) patchImage(ctx context.Context, image, expect, cause string, dryRun bool) (*view, error) {
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	var template *corev1.PodTemplateSpec // of the last read, to tell what a conflict was
	spec := 0                            // conflicts with a writer of the pod template
	for attempt := 1; ; attempt++ {
		v, err := w.get(ctx)
		if err != nil {
			return nil, err
		}
		if template != nil && !equality.Semantic.DeepEqual(template, v.template) {
			spec++
		}
		switch {
		case spec > 1:
			return nil, fmt.Errorf("%w: another writer changed the pod template of %s twice while lkg patched it; nothing was changed. Run lkg again", ErrConflict, w.Ref)
		case attempt > maxAttempts:
			return nil, fmt.Errorf("%w: %s changed at each of %d patches; nothing was changed. Run lkg again", ErrConflict, w.Ref, maxAttempts)
		}
		template = v.template
		if v.paused {
			return nil, w.errPaused()
		}
		c, err := w.container(v)
		if err != nil {
			return nil, err
		}
		if expect != "" && c.Image != expect {
			return nil, fmt.Errorf("%w: %s now runs %s, not %s as read before the move. Nothing was changed; run lkg again to plan from what it runs now",
				ErrChanged, w.Ref, c.Image, expect)
		}
		if w.beforePatch != nil {
			w.beforePatch(attempt)
		}
		out, err := w.patch(ctx, patchBody(c.Name, image, cause, v.meta.ResourceVersion), opts)
		switch {
		case err == nil:
			return out, nil
		case !apierrors.IsConflict(err):
			return nil, w.apiError(ctx, "patch", err)
		}
	}
}

// maxAttempts bounds the patches of one move. A conflict whose re-read
// shows the same pod template came from a write of something the patch
// does not change (the controllers write the status, the revision
// annotation, the replicas all through a rollout): it is patched again at
// once. A conflict with a writer of the template is patched once more,
// never twice.
const maxAttempts = 8

// patchBody is the strategic-merge patch: containers merge by name, so
// only the target container's image changes. The resourceVersion makes it
// conditional on the read it was planned from.
func patchBody(container, image, cause, resourceVersion string) []byte {
	type container_ struct {
		Name  string `json:"name"`
		Image string `json:"image"`
	}
	var p struct {
		Metadata struct {
			ResourceVersion string            `json:"resourceVersion"`
			Annotations     map[string]string `json:"annotations,omitempty"`
		} `json:"metadata"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []container_ `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	p.Metadata.ResourceVersion = resourceVersion
	if cause != "" {
		p.Metadata.Annotations = map[string]string{ChangeCause: cause}
	}
	p.Spec.Template.Spec.Containers = []container_{{Name: container, Image: image}}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // strings only: cannot fail
	}
	return b
}
