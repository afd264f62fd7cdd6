package artifacts

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/lkg-dev/lkg/internal/fixture"
)

func TestHostSet(t *testing.T) {
	s := hostSet{}
	WithInsecureRegistries("Registry.Corp:5000", "mirror.corp", " ")(&options{insecure: s})
	tests := []struct {
		hostport string
		want     bool
	}{
		{"registry.corp:5000", true},
		{"REGISTRY.corp:5000", true},
		{"registry.corp:5001", false},
		{"registry.corp", false},
		{"mirror.corp", true},
		{"mirror.corp:443", true},
		{"127.0.0.1:5000", true}, // loopback: always
		{"[::1]:5000", true},
		{"10.0.0.1:5000", false},
	}
	for _, tt := range tests {
		if got := s.plainOK(tt.hostport); got != tt.want {
			t.Errorf("plainOK(%q) = %v, want %v", tt.hostport, got, tt.want)
		}
	}
}

func TestTLS(t *testing.T) {
	ctx := context.Background()
	ca, err := fixture.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, fixture.WithTLS(ca))
	if _, err := fixture.Push(ctx, reg.Addr+"/app:v1", fixture.ImageSpec{Seed: "tls"}, remote.WithTransport(ca.Transport())); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	junkFile := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(junkFile, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       []Option
		wantNewErr string // NewRepository fails saying this
		wantErr    error  // Tags fails with this
	}{
		{"untrusted", nil, "", ErrCertificate},
		{"ca file", []Option{WithCAFile(caFile)}, "", nil},
		{"insecure host:port", []Option{WithInsecureRegistries(reg.Addr)}, "", nil},
		{"insecure host", []Option{WithInsecureRegistries("127.0.0.1")}, "", nil},
		{"another host insecure", []Option{WithInsecureRegistries("127.0.0.2")}, "", ErrCertificate},
		{"ca file without a certificate", []Option{WithCAFile(junkFile)}, "no PEM certificate", nil},
		{"missing ca file", []Option{WithCAFile(filepath.Join(dir, "nope"))}, "reading CA file", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append([]Option{WithKeychain(authn.NewMultiKeychain()), WithCacheDir("")}, tt.opts...)
			r, err := NewRepository(reg.Addr+"/app", opts...)
			if tt.wantNewErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantNewErr) {
					t.Fatalf("NewRepository error = %v, want one saying %q", err, tt.wantNewErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.Tags(ctx)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var certErr *CertificateError
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrUnreachable) || !errors.As(err, &certErr) || certErr.Host != reg.Addr {
				t.Fatalf("Tags error = %v, want %v and ErrUnreachable naming %s", err, tt.wantErr, reg.Addr)
			}
		})
	}
}
