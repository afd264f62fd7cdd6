package automation

import (
	"os"
	"path/filepath"
	"testing"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestScan(t *testing.T) {
	repos := []string{"reg.example.com/shop/api"}
	tests := []struct {
		name  string
		files map[string]string
		want  []string // tools, in file order
	}{
		{"nothing", map[string]string{"README.md": "hi"}, nil},
		{"flux automation without a repository of the target", map[string]string{
			"flux.yaml": "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata: {name: apps}\n",
		}, nil},
		{"argo image list of another image", map[string]string{
			"app.yaml": "metadata:\n  name: x\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: reg.example.com/other\n",
		}, nil},
		{"argo image list of the target", map[string]string{
			"app.yaml": "kind: Application\nmetadata:\n  name: x\n  annotations:\n    argocd-image-updater.argoproj.io/image-list: a=reg.example.com/shop/api:1.x\n",
		}, []string{ArgoCD}},
		{"renovate limited to npm", map[string]string{"renovate.json": `{"enabledManagers": ["npm"]}`}, nil},
		{"renovate disabled", map[string]string{"renovate.json": `{"enabled": false}`}, nil},
		{"renovate with docker", map[string]string{".github/renovate.json": `{"enabledManagers": ["dockerfile"]}`}, []string{Renovate}},
		{"dependabot without docker", map[string]string{".github/dependabot.yml": "updates:\n  - package-ecosystem: gomod\n"}, nil},
		{"kustomize image by path", map[string]string{"k/kustomization.yaml": "images:\n  - name: app\n    newName: reg.example.com/shop/api\n    digest: sha256:abc\n"}, []string{Kustomize}},
		{"vendor and node_modules are skipped", map[string]string{"vendor/x/kustomization.yaml": "images:\n  - name: reg.example.com/shop/api\n"}, nil},
		{"broken YAML is skipped", map[string]string{"x.yaml": "a: [\n", "kustomization.yaml": "images: [{name: reg.example.com/shop/api}]\n"}, []string{Kustomize}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Scan(writeFiles(t, tc.files), repos)
			if err != nil {
				t.Fatal(err)
			}
			var tools []string
			for _, f := range got {
				tools = append(tools, f.Tool)
			}
			if len(tools) != len(tc.want) {
				t.Fatalf("Scan = %+v, want tools %q", got, tc.want)
			}
			for i := range tools {
				if tools[i] != tc.want[i] {
					t.Errorf("finding %d is %s, want %s", i, tools[i], tc.want[i])
				}
			}
		})
	}
}
