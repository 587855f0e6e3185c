package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// The control-plane components, by the names Processes reports.
const (
	compAPIServer         = "kube-apiserver"
	compControllerManager = "kube-controller-manager"
	compScheduler         = "kube-scheduler"
	compKwok              = "kwok"
)

// Defaults for a spec that leaves a range empty.
const (
	defaultServiceCIDR = "10.96.0.0/12"
	defaultPodCIDR     = "10.244.0.0/16"
)

// run is the life of one cluster's control plane: start the API server,
// then keep the nodes in line with SetNodePool until ctx ends, restarting
// everything when Ensure asks for another minor. It stops every process it
// started before it returns. A start that fails is not retried: the error
// stays in State (an emulator turns it into a failed cluster).
func (m *Manager) run(ctx context.Context, c *cluster) {
	defer m.stopAll(c)
	for {
		err := m.start(ctx, c)
		if err == nil {
			// A cluster that has nodes is ready once their kubelets and
			// the controllers run again too (after an upgrade, a restart).
			err = m.controllersForNodes(c)
		}
		m.mu.Lock()
		switch {
		case err == nil:
			c.setState(true, nil)
		case ctx.Err() == nil:
			c.setState(false, err)
		}
		m.mu.Unlock()
		if err != nil {
			<-ctx.Done()
			return
		}
		if !m.serve(ctx, c) {
			return
		}
		m.stopAll(c) // a new minor: start again
	}
}

// serve keeps cluster c's nodes in line until ctx ends (false) or Ensure
// asked for another minor (true). A failed node sync is retried after a
// second; an API server that dies fails the cluster.
func (m *Manager) serve(ctx context.Context, c *cluster) (restart bool) {
	var retry <-chan time.Time
	for {
		m.mu.Lock()
		want, _, _ := ServedMinor(c.spec.Version) // Ensure checked it
		newMinor := c.err == nil && want != c.served
		m.mu.Unlock()
		if newMinor {
			return true
		}
		if err := m.syncNodes(ctx, c); err != nil && ctx.Err() == nil {
			retry = time.After(time.Second)
		} else {
			retry = nil
		}
		m.mu.Lock()
		api := c.procs[compAPIServer]
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return false
		case <-api.done:
			m.mu.Lock()
			c.setState(false, fmt.Errorf("sandbox: kube-apiserver for %s exited (%v): %s", c.id, api.err, tail(filepath.Join(c.dir, "apiserver.log"))))
			m.mu.Unlock()
			<-ctx.Done()
			return false
		case <-c.poke:
		case <-retry:
		}
	}
}

// stopAll stops every process of c: the node simulator and controllers
// first, the API server last.
func (m *Manager) stopAll(c *cluster) {
	m.mu.Lock()
	sig, grace := syscall.SIGTERM, 10*time.Second
	if c.hard {
		sig, grace = syscall.SIGKILL, 5*time.Second
	}
	procs := c.procs
	c.procs = map[string]*process{}
	m.mu.Unlock()
	for _, name := range []string{compKwok, compScheduler, compControllerManager, compAPIServer} {
		if p := procs[name]; p != nil {
			p.kill(sig, grace)
		}
	}
}

// start runs the API server of c at the minor its spec asks for and waits
// until it is ready; the first time in the cluster's life it runs the
// bootstrap.
func (m *Manager) start(ctx context.Context, c *cluster) error {
	began := time.Now()
	etcdURL, err := m.ensureEtcd(ctx)
	if err != nil {
		return err
	}
	bins, err := m.binaries()
	if err != nil {
		return err
	}
	hook, err := m.ensureWebhook()
	if err != nil {
		return err
	}
	authn := filepath.Join(c.dir, "authn-webhook.kubeconfig")
	if err := os.WriteFile(authn, hook.kubeconfig(c.id), 0o600); err != nil {
		return fmt.Errorf("sandbox: write %s: %w", authn, err)
	}
	m.mu.Lock()
	spec := c.spec
	m.mu.Unlock()
	served, _, err := ServedMinor(spec.Version)
	if err != nil {
		return err
	}
	svc := spec.ServiceCIDR
	if svc == "" {
		svc = defaultServiceCIDR
	}
	args := []string{
		"--etcd-servers=" + etcdURL,
		"--etcd-prefix=" + etcdPrefix(c.id),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(c.port),
		"--cert-dir=" + filepath.Join(c.dir, "certs"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + filepath.Join(c.dir, "sa.key"),
		"--service-account-signing-key-file=" + filepath.Join(c.dir, "sa.key"),
		"--service-cluster-ip-range=" + svc,
		"--emulated-version=kube=" + served,
		"--client-ca-file=" + filepath.Join(c.dir, "ca.crt"), // the controllers' certificates
		"--authorization-mode=Node,RBAC",
		"--authentication-token-webhook-config-file=" + authn,
		"--authentication-token-webhook-version=v1",
		"--authentication-token-webhook-cache-ttl=10s",
		"--endpoint-reconciler-type=none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
	}
	p, err := m.startComponent(c, compAPIServer, bins.APIServer, args, "apiserver.log")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.ca.cert)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	url := "https://127.0.0.1:" + strconv.Itoa(c.port) + "/readyz"
	deadline := time.After(m.timeout)
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("sandbox: kube-apiserver for %s exited (%v): %s", c.id, p.err, tail(filepath.Join(c.dir, "apiserver.log")))
		case <-deadline:
			return fmt.Errorf("sandbox: kube-apiserver for %s not ready after %s: %s", c.id, m.timeout, tail(filepath.Join(c.dir, "apiserver.log")))
		case <-tick.C:
		}
	}
	cs, err := m.adminClient(c)
	if err != nil {
		return err
	}
	// /readyz answers before the API server has made the default/kubernetes
	// Service of its service CIDR; a cluster is ready once it has.
	sctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	if err := serviceExists(sctx, cs, "default", "kubernetes"); err != nil {
		return fmt.Errorf("sandbox: kube-apiserver for %s made no kubernetes Service: %w", c.id, err)
	}
	marker := filepath.Join(c.dir, "bootstrapped")
	if _, err := os.Stat(marker); err != nil && c.bootstrap != nil {
		if err := c.bootstrap(ctx, cs); err != nil {
			return fmt.Errorf("sandbox: bootstrap cluster %s: %w", c.id, err)
		}
	}
	if err := os.WriteFile(marker, nil, 0o644); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	m.mu.Lock()
	c.readyT = time.Since(began)
	c.served = served
	m.mu.Unlock()
	return nil
}

// adminClient is a client of c's API server authenticated as the sandbox
// itself (system:masters).
func (m *Manager) adminClient(c *cluster) (kubernetes.Interface, error) {
	cs, err := kubernetes.NewForConfig(&rest.Config{
		Host: "https://127.0.0.1:" + strconv.Itoa(c.port), BearerToken: m.internal,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.ca.cert},
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: client for %s: %w", c.id, err)
	}
	return cs, nil
}

// startComponent starts one process of c, logging to c's directory.
func (m *Manager) startComponent(c *cluster, name, bin string, args []string, logName string) (*process, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := startProcess(bin, args, filepath.Join(c.dir, logName))
	if err != nil {
		return nil, fmt.Errorf("sandbox: start %s for %s: %w", name, c.id, err)
	}
	c.procs[name] = p
	return p, nil
}

// ensureControllers starts, once c has nodes, what a real cluster runs
// beside its API server: kube-controller-manager (service accounts,
// Deployments, garbage collection, node lifecycle), kube-scheduler (places
// pods by nodeSelector, affinity and tolerations) and kwok (the nodes'
// simulated kubelets: Ready nodes, running pods). Each authenticates with a
// client certificate of the cluster's CA and emulates the API server's
// minor. One that exited is started again.
func (m *Manager) ensureControllers(c *cluster) error {
	m.mu.Lock()
	served := c.served
	spec := c.spec
	running := map[string]bool{}
	for name, p := range c.procs {
		running[name] = !p.exited()
	}
	m.mu.Unlock()
	if running[compControllerManager] && running[compScheduler] && running[compKwok] {
		return nil
	}
	pods := spec.PodCIDR
	if pods == "" {
		pods = defaultPodCIDR
	}
	svc := spec.ServiceCIDR
	if svc == "" {
		svc = defaultServiceCIDR
	}
	bins, _ := m.binaries() // checked before any cluster starts
	components := []struct {
		name, bin, user string
		groups          []string
		args            []string
	}{
		{compControllerManager, bins.ControllerManager, "system:kube-controller-manager", []string{"system:masters"}, []string{
			"--leader-elect=false", "--secure-port=0", "--profiling=false",
			"--emulated-version=kube=" + served,
			"--cluster-name=" + c.id,
			"--service-account-private-key-file=" + filepath.Join(c.dir, "sa.key"),
			"--root-ca-file=" + filepath.Join(c.dir, "ca.crt"),
			"--service-cluster-ip-range=" + svc,
			"--use-service-account-credentials=false",
		}},
		{compScheduler, bins.Scheduler, "system:kube-scheduler", nil, []string{
			"--leader-elect=false", "--secure-port=0", "--profiling=false",
			"--emulated-version=kube=" + served,
		}},
		{compKwok, bins.Kwok, "system:kwok-controller", []string{"system:masters"}, []string{
			"--config=" + bins.KwokConfig,
			"--manage-nodes-with-annotation-selector=" + kwokAnnotation + "=fake",
			"--cidr=" + pods,
			"--node-lease-duration-seconds=40",
		}},
	}
	if !running[compKwok] {
		// A kwok that starts takes over only the node leases nobody holds;
		// those its predecessor (a stopped sandbox) held expire after 40 s.
		// The predecessor is gone: free them now.
		if err := m.releaseNodeLeases(c); err != nil {
			return err
		}
	}
	for _, comp := range components {
		if running[comp.name] {
			continue
		}
		kc, err := m.componentKubeconfig(c, comp.name, comp.user, comp.groups)
		if err != nil {
			return err
		}
		if _, err := m.startComponent(c, comp.name, comp.bin, append([]string{"--kubeconfig=" + kc}, comp.args...), comp.name+".log"); err != nil {
			return err
		}
	}
	return nil
}

// releaseNodeLeases deletes the kube-node-lease Leases of c's simulated
// nodes.
func (m *Manager) releaseNodeLeases(c *cluster) error {
	cs, err := m.adminClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(m.ctx, time.Minute)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("sandbox: list nodes of %s: %w", c.id, err)
	}
	for _, n := range nodes.Items {
		if n.Annotations[kwokAnnotation] != "fake" {
			continue
		}
		err := cs.CoordinationV1().Leases(corev1.NamespaceNodeLease).Delete(ctx, n.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("sandbox: release the lease of node %s of %s: %w", n.Name, c.id, err)
		}
	}
	return nil
}

// componentKubeconfig writes (once) the kubeconfig of one control-plane
// component: a client certificate for user in groups, signed by c's CA.
func (m *Manager) componentKubeconfig(c *cluster, name, user string, groups []string) (string, error) {
	path := filepath.Join(c.dir, "components", name+".kubeconfig")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	cert, err := newClientCert(user, groups, c.ca)
	if err != nil {
		return "", fmt.Errorf("sandbox: certificate of %s for %s: %w", name, c.id, err)
	}
	b64 := base64.StdEncoding.EncodeToString
	data := fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: %[1]s
  cluster:
    server: https://127.0.0.1:%[2]d
    certificate-authority-data: %[3]s
users:
- name: %[4]s
  user:
    client-certificate-data: %[5]s
    client-key-data: %[6]s
contexts:
- name: %[4]s
  context: {cluster: %[1]s, user: %[4]s}
current-context: %[4]s
`, c.id, c.port, b64(c.ca.cert), name, b64(cert.cert), b64(cert.key))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("sandbox: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", fmt.Errorf("sandbox: write %s: %w", path, err)
	}
	return path, nil
}
