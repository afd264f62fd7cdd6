package kube

import (
	"context"
	"errors"
	"fmt"

	"github.com/lkg-dev/lkg/deploy"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The ways a Kubernetes move fails, matched with errors.Is. Each error
// that wraps one is a whole line for the user: what failed, why, and what
// to do.
var (
	// ErrNotFound: the workload is not in the cluster the options chose
	// (deploy.ErrNoTarget).
	ErrNotFound = deploy.ErrNoTarget
	// ErrPaused: the Deployment is paused; a new image would not roll
	// out until someone resumes it, so lkg refuses to change it.
	ErrPaused = errors.New("deployment paused")
	// ErrForbidden: RBAC does not let this user do what the move needs.
	// The message names the verb and the resource.
	ErrForbidden = errors.New("not allowed by RBAC")
	// ErrDenied: admission (a webhook, a ValidatingAdmissionPolicy, an
	// image policy) refused the change. The message is the API server's.
	ErrDenied = errors.New("refused by admission")
	// ErrConflict: the workload kept changing under the patch: it was
	// re-read and patched once more, and changed again.
	ErrConflict = errors.New("the workload changed during the patch")
	// ErrChanged: between lkg reading the container's image (and
	// journaling it) and patching it, another writer set another image
	// (deploy.ErrTargetMoved: nothing was changed).
	ErrChanged = deploy.ErrTargetMoved
	// ErrRolloutFailed: the rollout did not complete: the Deployment's
	// progress deadline passed, or the wait's timeout did. It is
	// deploy.ErrUnhealthy, so --auto-revert puts the previous image back.
	ErrRolloutFailed = fmt.Errorf("%w: the rollout did not complete", deploy.ErrUnhealthy)
	// ErrUnreachable: the API server did not answer.
	ErrUnreachable = errors.New("API server unreachable")
)

// apiError turns an error of a request that needed verb on the workload
// into one of the errors above.
func (w *Workload) apiError(ctx context.Context, verb string, err error) error {
	return w.apiErrorOn(ctx, verb, "apps", w.Ref.resource(), err)
}

func (w *Workload) apiErrorOn(ctx context.Context, verb, group, resource string, err error) error {
	var status apierrors.APIStatus
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", w.Ref, ctx.Err())
	case apierrors.IsNotFound(err) && resource == w.Ref.resource():
		return w.notFound(ctx)
	case apierrors.IsForbidden(err) && !w.allowed(ctx, verb, group, resource):
		return w.forbidden(ctx, verb, group, resource)
	case apierrors.IsForbidden(err), apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		// Allowed by RBAC and still refused: admission said no, and its
		// message is the one to read.
		return fmt.Errorf("%w: %s: the API server refused to %s it: %s", ErrDenied, w.Ref, verb, statusMessage(err))
	case errors.As(err, &status) && status.Status().Code >= 500, apierrors.IsTimeout(err), apierrors.IsServerTimeout(err), apierrors.IsTooManyRequests(err):
		return fmt.Errorf("%w: %s: %s", ErrUnreachable, w.cluster, statusMessage(err))
	case errors.As(err, &status):
		return fmt.Errorf("%s: %s: %s", w.Ref, verb, statusMessage(err))
	default:
		// No status from the server: the request did not get an answer.
		return fmt.Errorf("%w: %s: %v", ErrUnreachable, w.cluster, err)
	}
}

func statusMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Message != "" {
		return status.Status().Message
	}
	return err.Error()
}

// allowed asks the API server whether this user may verb the resource in
// the target's namespace. A Forbidden answer comes from RBAC or from an
// admission webhook; this tells them apart. When the review itself fails,
// the answer is "not allowed": the error then names RBAC, the likelier.
func (w *Workload) allowed(ctx context.Context, verb, group, resource string) bool {
	r, err := w.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
		Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
			Namespace: w.Ref.Namespace, Verb: verb, Group: group, Resource: resource,
		}},
	}, metav1.CreateOptions{})
	return err == nil && r.Status.Allowed
}

// forbidden is the one line for a request RBAC refused: who, which verb,
// which resource, where, and what to ask for.
func (w *Workload) forbidden(ctx context.Context, verb, group, resource string) error {
	who := "this user"
	if r, err := w.client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authnv1.SelfSubjectReview{}, metav1.CreateOptions{}); err == nil && r.Status.UserInfo.Username != "" {
		who = fmt.Sprintf("user %q", r.Status.UserInfo.Username)
	}
	full := resource
	if group != "" {
		full += "." + group
	}
	return fmt.Errorf("%w: %s may not %s %s in namespace %q (%s). Ask for a Role there that allows %q on %s",
		ErrForbidden, who, verb, full, w.Ref.Namespace, w.cluster, verb, full)
}

// notFound is ErrNotFound for the workload, exit 2, naming the nearest
// workload of its kind in the namespace (or those there are), as every
// runtime target names the nearest that exists.
func (w *Workload) notFound(ctx context.Context) error {
	err := fmt.Errorf("%w: %s %q is not in namespace %q (%s)", ErrNotFound, w.Ref.Kind, w.Ref.Name, w.Ref.Namespace, w.cluster)
	var names []string
	apps, ns, opts := w.client.AppsV1(), w.Ref.Namespace, metav1.ListOptions{}
	switch w.Ref.Kind {
	case Deployment:
		if l, lerr := apps.Deployments(ns).List(ctx, opts); lerr == nil {
			for _, o := range l.Items {
				names = append(names, o.Name)
			}
		}
	case StatefulSet:
		if l, lerr := apps.StatefulSets(ns).List(ctx, opts); lerr == nil {
			for _, o := range l.Items {
				names = append(names, o.Name)
			}
		}
	case DaemonSet:
		if l, lerr := apps.DaemonSets(ns).List(ctx, opts); lerr == nil {
			for _, o := range l.Items {
				names = append(names, o.Name)
			}
		}
	}
	prefix := "k8s://" + ns + "/" + w.Ref.Kind + "/"
	return deploy.NoSuch(err, prefix, w.Ref.Name, names,
		fmt.Sprintf("Namespace %q has no %ss", ns, w.Ref.Kind), fmt.Sprintf("Its %ss:", w.Ref.Kind))
}
