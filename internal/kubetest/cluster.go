package kubetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lkg-dev/lkg/internal/testenv"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// LimitedUser is the user of Cluster.LimitedKubeconfig: authenticated, and
// with no rights until a test binds it a role, to show what lkg says when
// RBAC refuses it.
const LimitedUser = "lkg-limited"

// Cluster is a running control plane.
type Cluster struct {
	// Kubeconfig is a kubeconfig file for an administrator
	// (system:masters), its one context named "lkg-test".
	Kubeconfig string
	// LimitedKubeconfig is the same cluster as LimitedUser.
	LimitedKubeconfig string
	// Config and Client speak to the API server as the administrator.
	Config *rest.Config
	Client kubernetes.Interface

	dir, etcdDir string
	procs        []*proc
	node         *node
	stopNode     context.CancelFunc
}

var (
	once      sync.Once
	shared    *Cluster
	sharedErr error
)

// Start returns the test binary's control plane, started on first use
// (about ten seconds). Without the binaries the test is skipped, or fails
// under LKG_REQUIRE_INTEGRATION=1. A package that calls Start runs its
// tests through Main, which stops the control plane at the end.
func Start(tb testing.TB) *Cluster {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("LKG_REQUIRE_INTEGRATION") == "1" {
			tb.Fatalf("kubetest: %v (LKG_REQUIRE_INTEGRATION=1)", err)
		}
		tb.Skipf("kubetest: %v", err)
	}
	c, err := Shared()
	if err != nil {
		tb.Fatalf("kubetest: %v", err)
	}
	return c
}

// Available says why no control plane can be started here (its binaries
// are missing), or nil.
func Available() error {
	_, err := binaries()
	return err
}

// Shared is Start for callers without a testing.TB (testscript commands):
// the test binary's control plane, started on first use. The binary's
// TestMain must stop it: kubetest.Main, or testscript.Main(kubetest.Wrap(m), ...).
func Shared() (*Cluster, error) {
	b, err := binaries()
	if err != nil {
		return nil, err
	}
	once.Do(func() { shared, sharedErr = start(b) })
	if sharedErr != nil {
		return nil, fmt.Errorf("starting the control plane: %w", sharedErr)
	}
	return shared, nil
}

// TestingM is what testscript.Main and Wrap take: a *testing.M.
type TestingM interface{ Run() int }

type stopping struct{ m TestingM }

func (s stopping) Run() int {
	code := s.m.Run()
	StopShared()
	return code
}

// StopShared stops the control plane Shared started, if it did, and
// removes its files.
func StopShared() {
	if shared != nil {
		shared.stop()
	}
}

// Wrap is m, stopping the control plane after its tests, for a TestMain
// that hands m to another runner (testscript.Main).
func Wrap(m TestingM) TestingM { return stopping{m} }

// Main runs m's tests, then stops the control plane if a test started
// one. Call it from TestMain: os.Exit(kubetest.Main(m)).
func Main(m *testing.M) int {
	testenv.WaitingTests() // the tests wait on the control plane
	return Wrap(m).Run()
}

type bins struct{ etcd, apiserver, controllerManager string }

// binaries finds etcd on PATH and the Kubernetes binaries in $LKG_KUBE_BIN
// (default /tmp/lkg-kube/bin, where `.ci/kube.sh build` puts them).
func binaries() (bins, error) {
	var b bins
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		return b, errors.New("no etcd on PATH (apt-get install etcd-server)")
	}
	dir := os.Getenv("LKG_KUBE_BIN")
	if dir == "" {
		dir = "/tmp/lkg-kube/bin"
	}
	b = bins{etcd, filepath.Join(dir, "kube-apiserver"), filepath.Join(dir, "kube-controller-manager")}
	for _, p := range []string{b.apiserver, b.controllerManager} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("no %s (run .ci/kube.sh build)", p)
		}
	}
	return b, nil
}

const (
	adminToken   = "lkg-admin-token"
	limitedToken = "lkg-limited-token"
)

func start(b bins) (c *Cluster, err error) {
	dir, err := os.MkdirTemp("", "lkg-kube-")
	if err != nil {
		return nil, err
	}
	c = &Cluster{dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	// etcd on tmpfs: the control plane's every write is an fsync on disk.
	c.etcdDir, err = os.MkdirTemp(shmOr(dir), "lkg-etcd-")
	if err != nil {
		return nil, err
	}

	etcdPort, peerPort, apiPort := freePort(), freePort(), freePort()
	etcdURL := "http://127.0.0.1:" + etcdPort
	peerURL := "http://127.0.0.1:" + peerPort
	if err := c.run("etcd", b.etcd,
		"--data-dir", c.etcdDir,
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL,
	); err != nil {
		return nil, err
	}
	if err := c.waitHTTP(30*time.Second, etcdURL+"/health", nil, "", "etcd"); err != nil {
		return nil, err
	}

	ca, err := writeCerts(dir)
	if err != nil {
		return nil, err
	}
	tokens := adminToken + ",admin,admin,system:masters\n" + limitedToken + "," + LimitedUser + "," + LimitedUser + "\n"
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return nil, err
	}
	if err := c.run("kube-apiserver", b.apiserver,
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", apiPort,
		"--tls-cert-file", filepath.Join(dir, "apiserver.crt"), "--tls-private-key-file", filepath.Join(dir, "apiserver.key"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.key"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range", "10.96.0.0/24",
		// The API server's own Endpoints would name an address no one
		// serves here, and reconciling them is all this does.
		"--endpoint-reconciler-type", "none",
		"--profiling=false",
	); err != nil {
		return nil, err
	}
	server := "https://127.0.0.1:" + apiPort
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	if err := c.waitHTTP(120*time.Second, server+"/readyz", pool, adminToken, "kube-apiserver"); err != nil {
		return nil, err
	}

	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	c.Kubeconfig = filepath.Join(dir, "admin.kubeconfig")
	c.LimitedKubeconfig = filepath.Join(dir, "limited.kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, server, caPEM, "admin", adminToken); err != nil {
		return nil, err
	}
	if err := writeKubeconfig(c.LimitedKubeconfig, server, caPEM, LimitedUser, limitedToken); err != nil {
		return nil, err
	}
	c.Config = &rest.Config{
		Host:            server,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: caPEM},
		// The harness answers for every pod of every test: the
		// client's default of 5 requests a second would be the slowest
		// part of the cluster.
		QPS: 500, Burst: 1000,
	}
	if c.Client, err = kubernetes.NewForConfig(c.Config); err != nil {
		return nil, err
	}

	if err := c.run("kube-controller-manager", b.controllerManager,
		"--kubeconfig", c.Kubeconfig,
		"--controllers", "deployment-controller,replicaset-controller,statefulset-controller,daemonset-controller,serviceaccount-controller",
		"--leader-elect=false",
		"--secure-port=0",
		"--use-service-account-credentials=false",
		"--kube-api-qps=200", "--kube-api-burst=400",
	); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	c.stopNode = cancel
	if c.node, err = startNode(ctx, c.Client); err != nil {
		return nil, err
	}
	// The service account controller making "default" in the default
	// namespace shows the controller manager is at work.
	if err := c.waitFor(60*time.Second, "kube-controller-manager", func(ctx context.Context) (bool, error) {
		_, err := c.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// stop ends the processes, newest first, and removes the directories.
func (c *Cluster) stop() {
	if c.stopNode != nil {
		c.stopNode()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
	if c.etcdDir != "" {
		os.RemoveAll(c.etcdDir)
	}
	os.RemoveAll(c.dir)
}

type proc struct {
	name string
	args []string // path and arguments, to start it again
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (c *Cluster) run(name, path string, args ...string) error {
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	// A test binary killed by its timeout takes the control plane with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, args: append([]string{path}, args...), cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	c.procs = append(c.procs, p)
	return nil
}

// RestartAPIServer stops the API server, leaves it down for down, and
// starts it again on the same port, returning once it is ready: a move
// that is under way sees the API server go away. Every client reconnects.
// Only a test that runs alone (no t.Parallel) may call it.
func (c *Cluster) RestartAPIServer(tb testing.TB, down time.Duration) {
	tb.Helper()
	for i, p := range c.procs {
		if p.name != "kube-apiserver" {
			continue
		}
		p.stop()
		time.Sleep(down)
		c.procs = append(c.procs[:i], c.procs[i+1:]...)
		if err := c.run(p.name, p.args[0], p.args[1:]...); err != nil {
			tb.Fatal(err)
		}
		pool := x509.NewCertPool()
		caPEM, _ := os.ReadFile(filepath.Join(c.dir, "ca.crt"))
		pool.AppendCertsFromPEM(caPEM)
		if err := c.waitHTTP(120*time.Second, c.Config.Host+"/readyz", pool, adminToken, "kube-apiserver"); err != nil {
			tb.Fatal(err)
		}
		return
	}
	tb.Fatal("no kube-apiserver to restart")
}

func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// exited says which process has stopped, with the end of its log.
func (c *Cluster) exited() error {
	for _, p := range c.procs {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited (%v):\n%s", p.name, p.err, tail(p.log))
		default:
		}
	}
	return nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

func (c *Cluster) waitFor(timeout time.Duration, what string, ok func(context.Context) (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		if err := c.exited(); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		done, err := ok(ctx)
		cancel()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			var log string
			for _, p := range c.procs {
				if p.name == what {
					log = tail(p.log)
				}
			}
			return fmt.Errorf("%s not ready after %s (%v):\n%s", what, timeout, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (c *Cluster) waitHTTP(timeout time.Duration, url string, pool *x509.CertPool, token, what string) error {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return c.waitFor(timeout, what, func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("%s: %s", url, resp.Status)
		}
		return true, nil
	})
}

// freePort is a loopback port free a moment ago; the processes are
// started right after, and one that loses a race fails to start, visibly.
func freePort() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func shmOr(dir string) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return dir
}

// writeCerts makes a CA and the API server's serving certificate for
// 127.0.0.1, and the service-account signing key, into dir.
func writeCerts(dir string) (*x509.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lkg-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		"ca.crt":        pemBlock("CERTIFICATE", caDER),
		"apiserver.crt": pemBlock("CERTIFICATE", srvDER),
		"apiserver.key": ecKeyPEM(srvKey),
		"sa.key":        ecKeyPEM(saKey),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	return ca, nil
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func ecKeyPEM(k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		panic(err)
	}
	return pemBlock("EC PRIVATE KEY", der)
}

func writeKubeconfig(path, server string, caPEM []byte, user, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["lkg-test"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["lkg-test"] = &clientcmdapi.Context{Cluster: "lkg-test", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "lkg-test"
	return clientcmd.WriteToFile(*cfg, path)
}

// Env is the environment for a command that should use this cluster the
// kubectl way: KUBECONFIG set to the admin's kubeconfig.
func (c *Cluster) Env() []string {
	return []string{"KUBECONFIG=" + c.Kubeconfig}
}
