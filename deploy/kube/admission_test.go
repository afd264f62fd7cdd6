package kube

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/internal/kubetest"
	admissionv1 "k8s.io/api/admission/v1"
	admregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// denyImages is a validating admission webhook, served on loopback, that
// refuses a Deployment whose pods would run one of images: the API server
// really calls it, for patches and for dry runs.
func denyImages(t *testing.T, c *kubetest.Cluster, ns string, images ...string) {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(rw, "bad review", http.StatusBadRequest)
			return
		}
		resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		var d appsv1.Deployment
		if err := json.Unmarshal(review.Request.Object.Raw, &d); err == nil {
			for _, ctr := range d.Spec.Template.Spec.Containers {
				for _, img := range images {
					if ctr.Image == img {
						resp.Allowed = false
						resp.Result = &metav1.Status{Code: http.StatusForbidden, Message: "image " + img + " is not signed by the release key"}
					}
				}
			}
		}
		review.Response = resp
		json.NewEncoder(rw).Encode(review)
	}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/validate"
	none, fail := admregv1.SideEffectClassNone, admregv1.Fail
	cfg := &admregv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "deny-" + ns},
		Webhooks: []admregv1.ValidatingWebhook{{
			Name: "deny.lkg.test",
			ClientConfig: admregv1.WebhookClientConfig{
				URL:      &url,
				CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}),
			},
			Rules: []admregv1.RuleWithOperations{{
				Operations: []admregv1.OperationType{admregv1.Update},
				Rule:       admregv1.Rule{APIGroups: []string{"apps"}, APIVersions: []string{"v1"}, Resources: []string{"deployments"}},
			}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}},
			SideEffects:             &none,
			FailurePolicy:           &fail,
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          new(int32(5)),
		}},
	}
	hooks := c.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	if _, err := hooks.Create(context.Background(), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hooks.Delete(context.Background(), cfg.Name, metav1.DeleteOptions{}) })
}

// An admission webhook's refusal is one line with its message, for the
// patch and for lkg check's dry run; a dry run that passes stores nothing.
func TestAdmissionDenied(t *testing.T) {
	c := kubetest.Start(t)
	t.Parallel()
	ns := c.Namespace(t)
	ns.Deployment(t, kubetest.Workload{Name: "shop", Image: imgA})
	denyImages(t, c, ns.Name, imgC)
	wl := open(t, c.Kubeconfig, ns, "deployment/shop")
	ctx := context.Background()

	// The API server takes up a new webhook configuration within a moment.
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err = wl.DryRun(ctx, imgC, "lkg check"); err != nil {
			break
		}
	}
	want := `admission webhook "deny.lkg.test" denied the request: image ` + imgC + ` is not signed by the release key`
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), want) {
		t.Fatalf("dry run of a denied image: %v; want ErrDenied with %q", err, want)
	}
	before := read(t, wl)
	_, err = wl.SetImage(ctx, imgC, imgA, "")
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("patch to a denied image: %v", err)
	}
	if err := wl.DryRun(ctx, imgB, "lkg check"); err != nil {
		t.Fatalf("dry run of an allowed image: %v", err)
	}
	after := read(t, wl)
	if after.Image != imgA || after.Generation != before.Generation {
		t.Errorf("after the refusal and the dry run: image %s generation %d, was %s %d", after.Image, after.Generation, before.Image, before.Generation)
	}
}
