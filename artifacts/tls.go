package artifacts

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ErrCertificate: a registry's TLS certificate could not be verified. It
// comes with ErrUnreachable; the fix is a CA (WithCAFile, SSL_CERT_FILE) or
// WithInsecureRegistries.
var ErrCertificate = errors.New("certificate not trusted")

// CertificateError is a registry whose TLS certificate could not be
// verified. errors.Is(err, ErrCertificate) holds.
type CertificateError struct {
	Host string // "host:port" as the image reference names it
	Err  error
}

func (e *CertificateError) Error() string   { return ErrCertificate.Error() + ": " + e.Err.Error() }
func (e *CertificateError) Unwrap() []error { return []error{ErrCertificate, e.Err} }

// WithInsecureRegistries names registries ("host" for any port, or
// "host:port") spoken to without verifying their TLS certificate, and over
// plain HTTP when they do not speak TLS: the only ones besides this
// machine's. The default is none.
func WithInsecureRegistries(hosts ...string) Option {
	return func(o *options) {
		if o.insecure == nil {
			o.insecure = hostSet{}
		}
		for _, h := range hosts {
			if h = strings.ToLower(strings.TrimSpace(h)); h != "" {
				o.insecure[h] = true
			}
		}
	}
}

// WithCAFile adds the PEM certificates in path to the authorities trusted
// for registries' TLS certificates (a private CA). The default trusts only
// the system's, which SSL_CERT_FILE and SSL_CERT_DIR replace.
func WithCAFile(path string) Option {
	return func(o *options) { o.caFile = path }
}

// hostSet is a set of lower-case "host" and "host:port".
type hostSet map[string]bool

// has reports whether hostport ("host:port" or "host") is named, with its
// port or without.
func (s hostSet) has(hostport string) bool {
	hostport = strings.ToLower(hostport)
	return s[hostport] || s[hostOnly(hostport)]
}

// plainOK reports whether a registry may be spoken to over plain HTTP:
// this machine's, and the ones named insecure.
func (s hostSet) plainOK(hostport string) bool {
	return isLoopback(hostOnly(hostport)) || s.has(hostport)
}

// nameOptions are how to parse a reference to a registry on hostport:
// name.Insecure lets go-containerregistry fall back to plain HTTP.
func (s hostSet) nameOptions(ref string) []name.Option {
	if host, _, _ := strings.Cut(ref, "/"); s.plainOK(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// loadCAFile reads a PEM bundle into a pool with the system's authorities.
func loadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("reading CA file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// tlsTransport applies o's CA file and insecure registries to base, when
// it is an *http.Transport (any other transport is the caller's to set up).
func (o options) tlsTransport(base http.RoundTripper) (http.RoundTripper, error) {
	t, ok := base.(*http.Transport)
	if !ok || o.caFile == "" && len(o.insecure) == 0 {
		return base, nil
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	if o.caFile != "" {
		pool, err := loadCAFile(o.caFile)
		if err != nil {
			return nil, err
		}
		t.TLSClientConfig.RootCAs = pool
	}
	if len(o.insecure) == 0 {
		return t, nil
	}
	skip := t.Clone()
	skip.TLSClientConfig.InsecureSkipVerify = true
	return &hostTransport{verify: t, skip: skip, insecure: o.insecure}, nil
}

// hostTransport sends requests to insecure registries through a transport
// that does not verify certificates, and all others through one that does.
type hostTransport struct {
	verify, skip http.RoundTripper
	insecure     hostSet
}

// RoundTrip implements http.RoundTripper.
func (t *hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.insecure.has(req.URL.Host) {
		return t.skip.RoundTrip(req)
	}
	return t.verify.RoundTrip(req)
}
