package kube

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lkg-dev/lkg/internal/config"
	"github.com/lkg-dev/lkg/internal/errs"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Scheme starts a Kubernetes target: k8s://NAMESPACE/KIND/NAME[#CONTAINER].
const Scheme = "k8s://"

// The kinds a target may name, as written in it.
const (
	Deployment  = "deployment"
	StatefulSet = "statefulset"
	DaemonSet   = "daemonset"
)

var kinds = []string{Deployment, StatefulSet, DaemonSet}

// kubectl's other names for the kinds: a target written with one is told
// the name to write, rather than accepted, so that one workload is one
// target (one history) however it was typed.
var kindAliases = map[string]string{
	"deploy": Deployment, "deployments": Deployment, "deployments.apps": Deployment, "deployment.apps": Deployment,
	"sts": StatefulSet, "statefulsets": StatefulSet, "statefulsets.apps": StatefulSet, "statefulset.apps": StatefulSet,
	"ds": DaemonSet, "daemonsets": DaemonSet, "daemonsets.apps": DaemonSet, "daemonset.apps": DaemonSet,
}

// ErrBadTarget: a k8s:// target that does not parse, or names a container
// the pods do not have (or none, when they have more than one). Its
// message says what to write instead; it is a usage error (exit 2).
var ErrBadTarget = errors.New("bad Kubernetes target")

func badTarget(target, format string, args ...any) error {
	return errs.Coded(2, fmt.Errorf("%w %q: %s", ErrBadTarget, target, fmt.Sprintf(format, args...)), "")
}

// Ref is a parsed k8s:// target.
type Ref struct {
	Namespace string
	Kind      string // Deployment, StatefulSet or DaemonSet
	Name      string
	// Container is the container whose image moves; "" when the target
	// does not say, which is allowed while the pod has only one.
	Container string
}

// IsTarget reports whether s is written as a Kubernetes target.
func IsTarget(s string) bool { return strings.HasPrefix(s, Scheme) }

// ParseRef parses k8s://NAMESPACE/KIND/NAME[#CONTAINER]. Anything else is
// an ErrBadTarget that names the nearest kind, or the part that is wrong.
func ParseRef(s string) (Ref, error) {
	bad := func(format string, args ...any) (Ref, error) {
		return Ref{}, badTarget(s, format, args...)
	}
	rest, ok := strings.CutPrefix(s, Scheme)
	if !ok {
		return bad("it starts with %s", Scheme)
	}
	path, container, hasContainer := strings.Cut(rest, "#")
	parts := strings.Split(path, "/")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return bad("write %sNAMESPACE/KIND/NAME[#CONTAINER], KIND one of %s", Scheme, strings.Join(kinds, ", "))
	}
	r := Ref{Namespace: parts[0], Kind: parts[1], Name: parts[2], Container: container}
	if !isKind(r.Kind) {
		near := kindAliases[strings.ToLower(r.Kind)]
		if near == "" {
			near = config.Nearest(r.Kind, kinds)
		}
		if near != "" {
			return bad("unknown kind %q. Did you mean %s%s/%s/%s?", r.Kind, Scheme, r.Namespace, near, r.Name)
		}
		return bad("unknown kind %q: KIND is one of %s", r.Kind, strings.Join(kinds, ", "))
	}
	if errs := validation.IsDNS1123Label(r.Namespace); len(errs) > 0 {
		return bad("namespace %q: %s", r.Namespace, errs[0])
	}
	if errs := validation.IsDNS1123Subdomain(r.Name); len(errs) > 0 {
		return bad("name %q: %s", r.Name, errs[0])
	}
	if hasContainer {
		if errs := validation.IsDNS1123Label(r.Container); len(errs) > 0 {
			return bad("container %q: %s", r.Container, errs[0])
		}
	}
	return r, nil
}

func isKind(k string) bool {
	for _, kind := range kinds {
		if k == kind {
			return true
		}
	}
	return false
}

// String is the target as written, with its container when it names one.
func (r Ref) String() string {
	s := Scheme + r.Namespace + "/" + r.Kind + "/" + r.Name
	if r.Container != "" {
		s += "#" + r.Container
	}
	return s
}

// kubectlName is the workload as kubectl names it: deployment/web.
func (r Ref) kubectlName() string { return r.Kind + "/" + r.Name }

// resource is the workload's API resource, as RBAC names it.
func (r Ref) resource() string { return r.Kind + "s" }
