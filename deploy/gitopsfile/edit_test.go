package gitopsfile

import (
	"errors"
	"testing"
)

const dg = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func TestPin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src, want, prev, kind string
	}{
		{
			name: "kustomization digest replaced",
			src: `# prod overlay
resources:
  - ../base
images:
  - name: reg.example.com/shop/web   # not this one
    newTag: v9
  - name: reg.example.com/shop/api
    newTag: v1.1.0 # the release
    digest: sha256:aaaa   # pinned by the pipeline
`,
			want: `# prod overlay
resources:
  - ../base
images:
  - name: reg.example.com/shop/web   # not this one
    newTag: v9
  - name: reg.example.com/shop/api
    newTag: v1.1.0 # the release
    digest: ` + dg + `   # pinned by the pipeline
`,
			prev: "reg.example.com/shop/api:v1.1.0@sha256:aaaa",
			kind: KindKustomization,
		},
		{
			name: "kustomization digest added",
			src: `images:
- name: reg.example.com/shop/api  # api
  newTag: v1.1.0
`,
			want: `images:
- name: reg.example.com/shop/api  # api
  digest: ` + dg + `
  newTag: v1.1.0
`,
			prev: "reg.example.com/shop/api:v1.1.0",
			kind: KindKustomization,
		},
		{
			name: "helm values, quoted",
			src: `replicaCount: 2
image:
  repository: reg.example.com/shop/api
  tag: "v1.1.0"
  digest: "sha256:bbbb" # set by lkg
  pullPolicy: IfNotPresent
`,
			want: `replicaCount: 2
image:
  repository: reg.example.com/shop/api
  tag: "v1.1.0"
  digest: "` + dg + `" # set by lkg
  pullPolicy: IfNotPresent
`,
			prev: "reg.example.com/shop/api:v1.1.0@sha256:bbbb",
			kind: KindHelm,
		},
		{
			name: "manifest, second document",
			src: `apiVersion: v1
kind: Service
metadata: {name: api}
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: sidecar
          image: reg.example.com/shop/proxy:v2
        - name: api
          image: reg.example.com/shop/api:v1.1.0 # bad
`,
			want: `apiVersion: v1
kind: Service
metadata: {name: api}
---
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
        - name: sidecar
          image: reg.example.com/shop/proxy:v2
        - name: api
          image: reg.example.com/shop/api@` + dg + ` # bad
`,
			prev: "reg.example.com/shop/api:v1.1.0",
			kind: KindManifest,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cur, kind, err := Pinned([]byte(tc.src), "reg.example.com/shop/api")
			if err != nil || cur != tc.prev || kind != tc.kind {
				t.Errorf("Pinned = %q, %q, %v; want %q, %q", cur, kind, err, tc.prev, tc.kind)
			}
			out, prev, err := Pin([]byte(tc.src), "reg.example.com/shop/api", dg, "")
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tc.want || prev != tc.prev {
				t.Errorf("Pin:\n%s\nprevious %q\nwant:\n%s\nprevious %q", out, prev, tc.want, tc.prev)
			}
		})
	}
}

func TestPinNoImage(t *testing.T) {
	t.Parallel()
	_, _, err := Pin([]byte("image: reg.example.com/shop/web:v1\n"), "reg.example.com/shop/api", dg, "")
	if !errors.Is(err, ErrNoImage) {
		t.Fatalf("err = %v, want ErrNoImage", err)
	}
}
