package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/lkg-dev/lkg/internal/fixture"
)

// Registry and image commands for the testscript suites.
func init() {
	scriptCmds["registry"] = cmdRegistry
	scriptCmds["push-image"] = cmdPushImage
	scriptCmds["push-raw"] = cmdPushRaw
	scriptCmds["image-digest"] = cmdImageDigest
}

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// scriptFlags parses a command's flags, failing the script with usage on
// any error (never exiting the test binary).
func scriptFlags(ts *testscript.TestScript, usage string, fs *flag.FlagSet, args []string) []string {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("%v\nusage: %s", err, usage)
	}
	return fs.Args()
}

const registryUsage = "registry [-inprocess] [-fault status=N[,times=N][,path=S][,method=M][,retry-after=V]]... [-auth USER:PASS] [-page N] [-tls CAFILE] [-referrers] NAME"

// cmdRegistry starts a registry on 127.0.0.1 and sets $NAME to its
// "127.0.0.1:PORT"; it stops when the script ends. It is the real
// distribution registry when docker-registry is installed (required when
// LKG_REQUIRE_INTEGRATION=1), else the in-process one. -fault, -auth and
// -page need the in-process registry and choose it. -tls serves HTTPS only,
// on a certificate from a CA made for the script, whose certificate it
// writes to CAFILE.
func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! registry")
	}
	fs := flag.NewFlagSet("registry", flag.ContinueOnError)
	inProcess := fs.Bool("inprocess", false, "")
	var faults listFlag
	fs.Var(&faults, "fault", "")
	auth := fs.String("auth", "", "")
	page := fs.Int("page", 0, "")
	caFile := fs.String("tls", "", "")
	referrers := fs.Bool("referrers", false, "")
	rest := scriptFlags(ts, registryUsage, fs, args)
	if len(rest) != 1 {
		ts.Fatalf("usage: %s", registryUsage)
	}
	var opts []fixture.Option
	if *inProcess {
		opts = append(opts, fixture.WithInProcess())
	}
	for _, spec := range faults {
		f, err := fixture.ParseFault(spec)
		if err != nil {
			ts.Fatalf("%v\nusage: %s", err, registryUsage)
		}
		opts = append(opts, fixture.WithFault(f))
	}
	if *auth != "" {
		user, pass, ok := strings.Cut(*auth, ":")
		if !ok {
			ts.Fatalf("-auth wants USER:PASS\nusage: %s", registryUsage)
		}
		opts = append(opts, fixture.WithBasicAuth(user, pass))
	}
	if *page > 0 {
		opts = append(opts, fixture.WithPageSize(*page))
	}
	if *caFile != "" {
		ca, err := fixture.NewCA()
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(*caFile), ca.CertPEM, 0o644))
		opts = append(opts, fixture.WithTLS(ca))
	}
	if *referrers {
		opts = append(opts, fixture.WithReferrers())
	}
	needsInProcess := *inProcess || len(faults) > 0 || *auth != "" || *page > 0 || *caFile != "" || *referrers
	if !needsInProcess && !fixture.RealAvailable() && requireIntegration {
		ts.Fatalf("LKG_REQUIRE_INTEGRATION=1 but %s is not on PATH (apt-get install -y docker-registry)", fixture.RealRegistryBinary)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, err := fixture.StartRegistry(ctx, opts...)
	ts.Check(err)
	ts.Defer(func() { reg.Close() })
	ts.Setenv(rest[0], reg.Addr)
	kind := "in-process"
	if reg.Real {
		kind = fixture.RealRegistryBinary
	}
	ts.Logf("%s registry on %s", kind, reg.Addr)
}

const pushImageUsage = "push-image [-label K=V]... [-annotation K=V]... [-created RFC3339] [-platform OS/ARCH]... [-seed S] [-layers N] [-malformed-config] [-auth USER:PASS] [-ca CAFILE] HOST/REPO:TAG"

// cmdPushImage builds a deterministic image (an index with more than one
// -platform) and pushes it, with -auth's credentials to a registry started
// with -auth, trusting -ca's CA for one started with -tls; $DIGEST is set to
// its manifest digest.
func cmdPushImage(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! push-image")
	}
	fs := flag.NewFlagSet("push-image", flag.ContinueOnError)
	var labels, annotations, platforms listFlag
	fs.Var(&labels, "label", "")
	fs.Var(&annotations, "annotation", "")
	fs.Var(&platforms, "platform", "")
	created := fs.String("created", "", "")
	seed := fs.String("seed", "", "")
	layers := fs.Int("layers", 1, "")
	malformed := fs.Bool("malformed-config", false, "")
	auth := fs.String("auth", "", "")
	caFile := fs.String("ca", "", "")
	rest := scriptFlags(ts, pushImageUsage, fs, args)
	if len(rest) != 1 {
		ts.Fatalf("usage: %s", pushImageUsage)
	}
	spec := fixture.ImageSpec{
		Labels:          keyValues(ts, labels),
		Annotations:     keyValues(ts, annotations),
		Platforms:       platforms,
		Layers:          *layers,
		Seed:            *seed,
		MalformedConfig: *malformed,
	}
	if *created != "" {
		t, err := time.Parse(time.RFC3339, *created)
		if err != nil {
			ts.Fatalf("-created: %v\nusage: %s", err, pushImageUsage)
		}
		spec.Created = t
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ropts []remote.Option
	if *auth != "" {
		user, pass, ok := strings.Cut(*auth, ":")
		if !ok {
			ts.Fatalf("-auth wants USER:PASS\nusage: %s", pushImageUsage)
		}
		ropts = append(ropts, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
	}
	if *caFile != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ts.ReadFile(*caFile))) {
			ts.Fatalf("-ca %s: no PEM certificate\nusage: %s", *caFile, pushImageUsage)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool}
		ropts = append(ropts, remote.WithTransport(t))
	}
	digest, err := fixture.Push(ctx, rest[0], spec, ropts...)
	ts.Check(err)
	ts.Setenv("DIGEST", digest)
}

const pushRawUsage = "push-raw [-type MEDIATYPE] HOST/REPO:TAG FILE"

// cmdPushRaw puts FILE (from the archive) as the manifest of a tag,
// unchecked: a malformed manifest. Only the in-process registry accepts
// junk (start it with `registry -inprocess`).
func cmdPushRaw(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! push-raw")
	}
	fs := flag.NewFlagSet("push-raw", flag.ContinueOnError)
	mediaType := fs.String("type", "application/vnd.oci.image.manifest.v1+json", "")
	rest := scriptFlags(ts, pushRawUsage, fs, args)
	if len(rest) != 2 {
		ts.Fatalf("usage: %s", pushRawUsage)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	digest, err := fixture.PushRaw(ctx, rest[0], *mediaType, []byte(ts.ReadFile(rest[1])))
	ts.Check(err)
	ts.Setenv("DIGEST", digest)
}

const imageDigestUsage = "image-digest NAME HOST/REPO:TAG"

// cmdImageDigest sets $NAME to the digest a tag points at now (one HEAD),
// for checking what a deploy or undo left behind. With !, it succeeds only
// when the tag does not exist.
func cmdImageDigest(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: %s", imageDigestUsage)
	}
	ref, err := fixture.ParseRef(args[1])
	ts.Check(err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	desc, err := remote.Head(ref, remote.WithContext(ctx))
	if neg {
		if err == nil {
			ts.Fatalf("%s exists at %s", args[1], desc.Digest)
		}
		return
	}
	ts.Check(err)
	ts.Setenv(args[0], desc.Digest.String())
}

// keyValues turns K=V flags into a map.
func keyValues(ts *testscript.TestScript, kvs []string) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			ts.Fatalf("%q is not K=V", kv)
		}
		m[k] = v
	}
	return m
}
