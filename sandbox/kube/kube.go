// Package kube gives the sandbox's emulated clusters a real Kubernetes
// control plane: one shared etcd per sandbox (started lazily, data under the
// sandbox directory) and one kube-apiserver per cluster, each with its own
// --etcd-prefix, its own CA and serving certificate, the cluster's service
// CIDR and Kubernetes minor (versions.go), and a token webhook served by the
// sandbox, so clients authenticate with the same credential the real cloud
// accepts (the emulator supplies the verifier). Once a cluster has nodes it
// also gets kube-controller-manager, kube-scheduler and kwok, the kubelet
// simulator of sigs.k8s.io/kwok: the node pools' Node objects stay Ready and
// pods are scheduled onto them and run (nodes.go).
//
// The binaries come from scripts/kube-apiserver.sh and scripts/kwok.sh
// (cached outside the repository) or the REGIONCTL_* variables below. A
// Manager implements the emulators' emu.KubeHost hooks; see docs/sandbox.md.
package kube

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	authv1 "k8s.io/api/authentication/v1"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Version is the Kubernetes release scripts/kube-apiserver.sh builds.
const Version = "v1.34.2"

// buildRecipe names how scripts/kube-apiserver.sh builds Version; the script
// bumps it when its recipe changes (for example stamping the version), so an
// older build in the cache is not used.
const buildRecipe = "2"

// Script provides the Kubernetes binaries and KwokScript kwok; every "not
// found" error names the one to run.
const (
	Script     = "scripts/kube-apiserver.sh"
	KwokScript = "scripts/kwok.sh"
)

// KwokVersion is the sigs.k8s.io/kwok release scripts/kwok.sh builds, and
// kwokRecipe its build recipe (as buildRecipe).
const (
	KwokVersion = "v0.8.0"
	kwokRecipe  = "1"
)

// Environment variables that point at the binaries.
const (
	EnvAPIServer         = "REGIONCTL_KUBE_APISERVER"
	EnvControllerManager = "REGIONCTL_KUBE_CONTROLLER_MANAGER"
	EnvScheduler         = "REGIONCTL_KUBE_SCHEDULER"
	EnvEtcd              = "REGIONCTL_ETCD"
	EnvKwok              = "REGIONCTL_KWOK"
	EnvKwokConfig        = "REGIONCTL_KWOK_CONFIG"
	EnvCache             = "REGIONCTL_CACHE"
)

// User, Authenticator, Bootstrap, Spec and Node are the hook types of
// emu.KubeHost, named here so code outside the sandbox (tests of in-cluster
// code) can start control planes of its own.
type (
	User          = emu.KubeUser
	Authenticator = emu.KubeAuthenticator
	Bootstrap     = emu.KubeBootstrap
	Cluster       = emu.KubeCluster
	Spec          = emu.KubeSpec
	Node          = emu.KubeNode
	Taint         = emu.KubeTaint
)

// Binaries are the programs a Manager runs.
type Binaries struct {
	APIServer         string
	ControllerManager string
	Scheduler         string
	Etcd              string
	Kwok              string
	// KwokConfig holds kwok's stages (scripts/kwok.sh copies kwok's own
	// defaults).
	KwokConfig string
}

// cacheBase is ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}.
func cacheBase() string {
	if base := os.Getenv(EnvCache); base != "" {
		return base
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "regionctl")
}

// CacheDir is where scripts/kube-apiserver.sh keeps its build:
// ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kube/VERSION-RECIPE.
func CacheDir() string {
	return filepath.Join(cacheBase(), "kube", Version+"-"+buildRecipe)
}

// KwokCacheDir is where scripts/kwok.sh keeps its build:
// ${REGIONCTL_CACHE:-$HOME/.cache/regionctl}/kwok/VERSION-RECIPE.
func KwokCacheDir() string {
	return filepath.Join(cacheBase(), "kwok", KwokVersion+"-"+kwokRecipe)
}

// readEnvFile reads the shell assignments a script wrote to dir/env.
func readEnvFile(dir string, into map[string]string) {
	data, err := os.ReadFile(filepath.Join(dir, "env"))
	if err != nil {
		return // no file: the script has not run
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "="); ok {
			into[k] = v
		}
	}
}

// FindBinaries locates the binaries: the environment variables first, then
// the env files and builds of scripts/kube-apiserver.sh and scripts/kwok.sh,
// then etcd on PATH. The error names the script to run.
func FindBinaries() (Binaries, error) {
	cache, kwokCache := CacheDir(), KwokCacheDir()
	fromFile := map[string]string{}
	readEnvFile(cache, fromFile)
	readEnvFile(kwokCache, fromFile)
	pick := func(env string, fallback ...string) string {
		if v := os.Getenv(env); v != "" {
			return v
		}
		if v := fromFile[env]; v != "" {
			return v
		}
		for _, f := range fallback {
			if f != "" {
				return f
			}
		}
		return ""
	}
	onPath, _ := exec.LookPath("etcd")
	b := Binaries{
		APIServer:         pick(EnvAPIServer, filepath.Join(cache, "bin", "kube-apiserver")),
		ControllerManager: pick(EnvControllerManager, filepath.Join(cache, "bin", "kube-controller-manager")),
		Scheduler:         pick(EnvScheduler, filepath.Join(cache, "bin", "kube-scheduler")),
		Etcd:              pick(EnvEtcd, onPath),
		Kwok:              pick(EnvKwok, filepath.Join(kwokCache, "bin", "kwok")),
		KwokConfig:        pick(EnvKwokConfig, filepath.Join(kwokCache, "stages.yaml")),
	}
	return b, b.check()
}

// check reports the missing binaries, naming the script that provides each.
func (b Binaries) check() error {
	var kubeErrs, kwokErrs []string
	for _, x := range []struct{ name, path string }{
		{"kube-apiserver", b.APIServer}, {"kube-controller-manager", b.ControllerManager},
		{"kube-scheduler", b.Scheduler}, {"etcd", b.Etcd},
	} {
		if !executable(x.path) {
			where := x.path
			if where == "" {
				where = "PATH"
			}
			kubeErrs = append(kubeErrs, fmt.Sprintf("%s not found (looked at %s)", x.name, where))
		}
	}
	if !executable(b.Kwok) {
		kwokErrs = append(kwokErrs, fmt.Sprintf("kwok not found (looked at %s)", b.Kwok))
	}
	if fi, err := os.Stat(b.KwokConfig); err != nil || fi.Size() == 0 {
		kwokErrs = append(kwokErrs, fmt.Sprintf("kwok's stages not found (looked at %s)", b.KwokConfig))
	}
	var errs []string
	if len(kubeErrs) > 0 {
		errs = append(errs, fmt.Sprintf("%s: run %s once (installs etcd, builds Kubernetes %s into %s, about 12 minutes) or set %s, %s, %s and %s",
			strings.Join(kubeErrs, "; "), Script, Version, CacheDir(), EnvAPIServer, EnvControllerManager, EnvScheduler, EnvEtcd))
	}
	if len(kwokErrs) > 0 {
		errs = append(errs, fmt.Sprintf("%s: run %s once (builds kwok %s into %s, about 2 minutes) or set %s and %s",
			strings.Join(kwokErrs, "; "), KwokScript, KwokVersion, KwokCacheDir(), EnvKwok, EnvKwokConfig))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func executable(path string) bool {
	if path == "" {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Options configure a Manager.
type Options struct {
	// Dir holds etcd's data and one directory per cluster
	// (certificates, logs); the sandbox uses <sandbox dir>/kube.
	Dir string
	// Binaries to run; zero means FindBinaries.
	Binaries Binaries
	// StartTimeout bounds how long an API server may take to become
	// ready (default 3 minutes).
	StartTimeout time.Duration
}

// Manager runs etcd and the clusters' control planes. It implements
// emu.KubeHost and is safe for concurrent use.
type Manager struct {
	dir string
	// binMu guards bins and binErr: binaries looked up (not given in
	// Options) are looked up again while missing, so a long-running
	// sandbox picks up a build made after it started.
	binMu    sync.Mutex
	bins     Binaries
	binErr   error
	lookUp   bool
	timeout  time.Duration
	internal string // the sandbox's own token, in memory only

	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	etcd     *process
	etcdURL  string
	etcdErr  error
	hook     *webhook
	clusters map[string]*cluster
	wg       sync.WaitGroup
}

var _ emu.KubeHost = (*Manager)(nil)

// cluster is one cluster's control plane. The fields below mu are guarded
// by Manager.mu; run (controlplane.go) owns the processes.
type cluster struct {
	id   string
	dir  string
	port int
	ca   *keyPair

	auth      emu.KubeAuthenticator
	spec      emu.KubeSpec // what Ensure asked for last
	bootstrap emu.KubeBootstrap

	stop    context.CancelFunc
	hard    bool          // Remove: stop with SIGKILL, the data goes anyway
	exited  chan struct{} // closed when run returned and every process ended
	poke    chan struct{} // wakes run: a new spec or new nodes
	ready   bool
	err     error
	changed chan struct{} // closed and replaced when ready or err change
	readyT  time.Duration
	served  string              // the minor the running API server serves
	procs   map[string]*process // by component name, while they run

	pools   map[string][]emu.KubeNode // by pool name, as SetNodePool set them
	gen     uint64                    // bumped by every SetNodePool
	applied uint64                    // the gen whose nodes are in the API server
	nodeErr error                     // why the last node sync failed
	synced  chan struct{}             // closed and replaced at every sync
}

// New returns a Manager; it starts nothing until the first Ensure.
func New(opts Options) *Manager {
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		dir = opts.Dir
	}
	m := &Manager{dir: dir, bins: opts.Binaries, timeout: opts.StartTimeout, clusters: map[string]*cluster{}}
	if m.timeout <= 0 {
		m.timeout = 3 * time.Minute
	}
	if m.bins == (Binaries{}) {
		m.lookUp = true
		m.bins, m.binErr = FindBinaries()
	} else {
		m.binErr = m.bins.check()
	}
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	m.internal = "sandbox." + hex.EncodeToString(b[:])
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// Check reports whether clusters can get a control plane: nil when the
// binaries were found, else an error naming the script to run.
func (m *Manager) Check() error {
	if _, err := m.binaries(); err != nil {
		return fmt.Errorf("sandbox: no Kubernetes API for emulated clusters: %w", err)
	}
	return nil
}

// binaries returns the programs to run, looking for them again while they
// are missing (see binMu).
func (m *Manager) binaries() (Binaries, error) {
	m.binMu.Lock()
	defer m.binMu.Unlock()
	if m.binErr != nil && m.lookUp {
		m.bins, m.binErr = FindBinaries()
	}
	return m.bins, m.binErr
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,127}$`)

// Ensure starts the control plane of cluster id unless it runs already, and
// returns at once with its endpoint and CA (the API server starts in the
// background; State says when it is ready). Its certificates and port are
// kept in the cluster's directory, so a restarted sandbox serves the
// cluster at the same endpoint with the same CA. spec.Bootstrap runs once
// in the cluster's life, after the first start. Ensure on a running
// cluster takes the new authenticator, and with another served minor
// (an upgrade) restarts the API server at that minor: State is not Ready
// until it answers again.
func (m *Manager) Ensure(id string, spec emu.KubeSpec) (emu.KubeCluster, error) {
	if err := m.Check(); err != nil {
		return emu.KubeCluster{}, err
	}
	if !idRE.MatchString(id) {
		return emu.KubeCluster{}, fmt.Errorf("sandbox: cluster id %q: want lowercase letters, digits, '.', '_' and '-'", id)
	}
	if _, _, err := ServedMinor(spec.Version); err != nil {
		return emu.KubeCluster{}, err
	}
	for _, r := range []string{spec.ServiceCIDR, spec.PodCIDR} {
		if r == "" {
			continue
		}
		if p, err := netip.ParsePrefix(r); err != nil || p.Masked() != p {
			return emu.KubeCluster{}, fmt.Errorf("sandbox: cluster %s: %q is not a network CIDR", id, r)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ctx.Err() != nil {
		return emu.KubeCluster{}, errors.New("sandbox: Kubernetes manager is closed")
	}
	if c, ok := m.clusters[id]; ok {
		c.auth = spec.Auth
		if want, _, _ := ServedMinor(spec.Version); c.served != "" && want != c.served && c.err == nil {
			c.setState(false, nil) // run restarts the API server at the new minor
		}
		c.spec = spec
		c.wake()
		return c.info(), nil
	}
	c, err := m.prepare(id)
	if err != nil {
		return emu.KubeCluster{}, err
	}
	c.auth, c.spec, c.bootstrap = spec.Auth, spec, spec.Bootstrap
	m.clusters[id] = c
	ctx, cancel := context.WithCancel(m.ctx)
	c.stop = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(c.exited)
		m.run(ctx, c)
	}()
	return c.info(), nil
}

// setState records whether c's API server is ready, or why it failed, and
// wakes whoever waits for a change. The caller holds Manager.mu.
func (c *cluster) setState(ready bool, err error) {
	c.ready, c.err = ready, err
	close(c.changed)
	c.changed = make(chan struct{})
}

// wake tells run to look at the spec and the nodes again.
func (c *cluster) wake() {
	select {
	case c.poke <- struct{}{}:
	default: // a wake is pending already
	}
}

func (c *cluster) info() emu.KubeCluster {
	return emu.KubeCluster{Endpoint: "https://127.0.0.1:" + strconv.Itoa(c.port), CAPEM: c.ca.cert}
}

// State reports whether cluster id's API server is ready, or why it failed.
func (m *Manager) State(id string) emu.KubeState {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clusters[id]
	if !ok {
		return emu.KubeState{Err: fmt.Errorf("sandbox: cluster %s has no API server", id)}
	}
	return emu.KubeState{Ready: c.ready, Err: c.err, NodesReady: c.ready && c.applied == c.gen}
}

// Wait blocks until cluster id's API server is ready or failed, or ctx ends
// (after an upgrade: until the new one is ready).
func (m *Manager) Wait(ctx context.Context, id string) error {
	for {
		m.mu.Lock()
		c, ok := m.clusters[id]
		if !ok {
			m.mu.Unlock()
			return fmt.Errorf("sandbox: cluster %s has no API server", id)
		}
		ready, err, changed := c.ready, c.err, c.changed
		m.mu.Unlock()
		if ready || err != nil {
			return err
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitAll blocks until every API server Ensure started is ready or failed,
// or ctx ends. The sandbox calls it after loading its state, so clusters
// that exist answer as soon as the sandbox does, as real ones never stop.
func (m *Manager) WaitAll(ctx context.Context) error {
	m.mu.Lock()
	ids := make([]string, 0, len(m.clusters))
	for id := range m.clusters {
		ids = append(ids, id)
	}
	m.mu.Unlock()
	for _, id := range ids {
		if err := m.Wait(ctx, id); err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

// ReadyAfter is how long cluster id's API server took to become ready
// (zero while it is not).
func (m *Manager) ReadyAfter(id string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	if c, ok := m.clusters[id]; ok {
		return c.readyT
	}
	return 0
}

// Running lists the ids of clusters whose API server process runs.
func (m *Manager) Running() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id, c := range m.clusters {
		if p := c.procs[compAPIServer]; p != nil && !p.exited() {
			out = append(out, id)
		}
	}
	return out
}

// Processes returns the process ids of cluster id's running control-plane
// components by name ("kube-apiserver", "kube-scheduler", "kwok", ...), for
// tests and diagnostics.
func (m *Manager) Processes(id string) map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	if c, ok := m.clusters[id]; ok {
		for name, p := range c.procs {
			if !p.exited() {
				out[name] = p.cmd.Process.Pid
			}
		}
	}
	return out
}

// Remove stops cluster id's control plane and deletes its data: its keys in
// etcd and its directory. Removing an unknown cluster deletes whatever data
// an earlier run left.
func (m *Manager) Remove(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("sandbox: cluster id %q is not valid", id)
	}
	m.mu.Lock()
	c := m.clusters[id]
	delete(m.clusters, id)
	if c != nil {
		c.hard = true
	}
	m.mu.Unlock()
	if c != nil {
		c.stop()
		<-c.exited
	}
	var errs []error
	cdir := filepath.Join(m.dir, "clusters", id)
	_, statErr := os.Stat(cdir)
	if _, berr := m.binaries(); berr == nil && (c != nil || statErr == nil) {
		url, err := m.ensureEtcd(m.ctx)
		if err == nil {
			err = deletePrefix(m.ctx, url, etcdPrefix(id))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sandbox: delete etcd data of cluster %s: %w", id, err))
		}
	}
	if err := os.RemoveAll(cdir); err != nil {
		errs = append(errs, fmt.Errorf("sandbox: remove %s: %w", cdir, err))
	}
	return errors.Join(errs...)
}

// Close stops every control plane and etcd, keeping their data, so a new
// Manager on the same directory restarts them (Ensure) where they were.
func (m *Manager) Close() error {
	m.cancel()
	m.wg.Wait() // every run stops its processes before it returns
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd != nil {
		m.etcd.kill(syscall.SIGTERM, 10*time.Second)
		m.etcd = nil
	}
	if m.hook != nil {
		m.hook.close()
		m.hook = nil
	}
	return nil
}

// prepare loads or makes the cluster's directory: CA, serving certificate,
// service-account key and port.
func (m *Manager) prepare(id string) (*cluster, error) {
	dir := filepath.Join(m.dir, "clusters", id)
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	c := &cluster{id: id, dir: dir, changed: make(chan struct{}), exited: make(chan struct{}), poke: make(chan struct{}, 1),
		procs: map[string]*process{}, pools: map[string][]emu.KubeNode{}, synced: make(chan struct{})}
	ca, err := loadKeyPair(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"))
	if err != nil {
		if ca, err = newCA("regionctl-sandbox-" + id + "-ca"); err != nil {
			return nil, err
		}
		if err := ca.save(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")); err != nil {
			return nil, fmt.Errorf("sandbox: save CA of %s: %w", id, err)
		}
		_ = os.Remove(filepath.Join(dir, "certs", "apiserver.crt")) // signed by a CA we no longer have
	}
	c.ca = ca
	// kube-apiserver serves certs/apiserver.{crt,key} from --cert-dir when
	// they exist; we sign them with the cluster's CA so clients can verify.
	if _, err := loadKeyPair(filepath.Join(dir, "certs", "apiserver.crt"), filepath.Join(dir, "certs", "apiserver.key")); err != nil {
		srv, err := newCert("kube-apiserver", ca, false, []string{"127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"})
		if err != nil {
			return nil, err
		}
		if err := srv.save(filepath.Join(dir, "certs", "apiserver.crt"), filepath.Join(dir, "certs", "apiserver.key")); err != nil {
			return nil, fmt.Errorf("sandbox: save serving certificate of %s: %w", id, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sa.key")); err != nil {
		sa, err := newCA("service-accounts")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "sa.key"), sa.key, 0o600); err != nil {
			return nil, fmt.Errorf("sandbox: save service-account key of %s: %w", id, err)
		}
	}
	port := 0
	if b, err := os.ReadFile(filepath.Join(dir, "port")); err == nil {
		if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && portFree(p) {
			port = p
		}
	}
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "port"), []byte(strconv.Itoa(port)+"\n"), 0o644); err != nil {
			return nil, fmt.Errorf("sandbox: save port of %s: %w", id, err)
		}
	}
	c.port = port
	return c, nil
}

func etcdPrefix(id string) string { return "/regionctl/" + id }

// tail returns the last lines of a log file, for errors.
func tail(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "no log"
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "last lines of " + path + ":\n" + strings.Join(lines, "\n")
}

// ensureEtcd starts the shared etcd once and returns its client URL.
func (m *Manager) ensureEtcd(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.etcd != nil && !m.etcd.exited() {
		return m.etcdURL, nil
	}
	bins, err := m.binaries()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(m.dir, "etcd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("sandbox: create %s: %w", dir, err)
	}
	// Keep the ports across restarts: etcd remembers its peer URL.
	var ports etcdPorts
	if b, err := os.ReadFile(filepath.Join(dir, "ports.json")); err == nil {
		_ = json.Unmarshal(b, &ports) // a bad file just gets new ports
	}
	fresh := ports.Client == 0 || !portFree(ports.Client) || !portFree(ports.Peer)
	for attempt := 1; ; attempt++ {
		if fresh {
			if ports, err = newEtcdPorts(dir); err != nil {
				return "", err
			}
		}
		p, client, err := startEtcd(ctx, bins.Etcd, dir, ports)
		// Something else took a port between picking and binding: the
		// ports are etcd's own (clusters know only their API server), so
		// take others.
		if err != nil && attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			fresh = true
			continue
		}
		if err != nil {
			return "", err
		}
		m.etcd, m.etcdURL = p, client
		return client, nil
	}
}

// etcdPorts are the shared etcd's client and peer ports (ports.json).
type etcdPorts struct{ Client, Peer int }

// newEtcdPorts picks etcd's ports and records them in dir/ports.json.
func newEtcdPorts(dir string) (etcdPorts, error) {
	var ports etcdPorts
	var err error
	if ports.Client, err = freePort(); err != nil {
		return ports, err
	}
	if ports.Peer, err = freePort(); err != nil {
		return ports, err
	}
	b, _ := json.Marshal(ports)
	if err := os.WriteFile(filepath.Join(dir, "ports.json"), b, 0o644); err != nil {
		return ports, fmt.Errorf("sandbox: %w", err)
	}
	return ports, nil
}

// startEtcd starts etcd on ports and waits until it is healthy.
func startEtcd(ctx context.Context, etcd, dir string, ports etcdPorts) (*process, string, error) {
	client := "http://127.0.0.1:" + strconv.Itoa(ports.Client)
	peer := "http://127.0.0.1:" + strconv.Itoa(ports.Peer)
	p, err := startProcess(etcd, []string{
		"--name=sandbox", "--data-dir=" + filepath.Join(dir, "data"),
		"--listen-client-urls=" + client, "--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer, "--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=sandbox=" + peer,
		"--quota-backend-bytes=2147483648",
	}, filepath.Join(dir, "etcd.log"))
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: start etcd: %w", err)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.After(time.Minute)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, client+"/health", nil)
		if resp, err := hc.Do(req); err == nil {
			var h struct{ Health string }
			_ = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if h.Health == "true" {
				break
			}
		}
		select {
		case <-ctx.Done():
			p.kill(syscall.SIGKILL, time.Second)
			return nil, "", ctx.Err()
		case <-p.done:
			return nil, "", fmt.Errorf("sandbox: etcd exited (%v): %s", p.err, tail(filepath.Join(dir, "etcd.log")))
		case <-deadline:
			p.kill(syscall.SIGKILL, time.Second)
			return nil, "", fmt.Errorf("sandbox: etcd not healthy after a minute: %s", tail(filepath.Join(dir, "etcd.log")))
		case <-time.After(100 * time.Millisecond):
		}
	}
	return p, client, nil
}

// deletePrefix deletes every key under prefix through etcd's JSON gateway.
func deletePrefix(ctx context.Context, etcdURL, prefix string) error {
	end := []byte(prefix)
	end[len(end)-1]++
	body, _ := json.Marshal(map[string]string{
		"key":       base64.StdEncoding.EncodeToString([]byte(prefix)),
		"range_end": base64.StdEncoding.EncodeToString(end),
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, etcdURL+"/v3/kv/deleterange", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd deleterange: %s", resp.Status)
	}
	return nil
}

// KeysUnder counts etcd keys under cluster id's prefix (for tests and
// `sandbox ls`); 0 when etcd is not running.
func (m *Manager) KeysUnder(ctx context.Context, id string) (int, error) {
	m.mu.Lock()
	url := m.etcdURL
	running := m.etcd != nil && !m.etcd.exited()
	m.mu.Unlock()
	if !running {
		return 0, nil
	}
	prefix := etcdPrefix(id)
	end := []byte(prefix)
	end[len(end)-1]++
	body, _ := json.Marshal(map[string]any{
		"key":        base64.StdEncoding.EncodeToString([]byte(prefix)),
		"range_end":  base64.StdEncoding.EncodeToString(end),
		"count_only": true,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v3/kv/range", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("etcd range: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Count string `json:"count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, fmt.Errorf("etcd range: %w", err)
	}
	n, _ := strconv.Atoi(out.Count) // absent means 0
	return n, nil
}

func portFree(p int) bool {
	if p <= 0 {
		return false
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// process is a child program whose output goes to a log file.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

func startProcess(path string, args []string, logPath string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The children die with the sandbox even if it is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends sig, and SIGKILL when the process has not exited after grace.
func (p *process) kill(sig syscall.Signal, grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig) // it may have exited meanwhile
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// webhook is the sandbox's token-review endpoint for every API server: it
// answers POST /authenticate/<cluster id> with authentication.k8s.io/v1
// TokenReviews, asking the cluster's emulator-supplied verifier.
type webhook struct {
	m   *Manager
	srv *http.Server
	url string
	ca  []byte
}

func (m *Manager) ensureWebhook() (*webhook, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.hook != nil {
		return m.hook, nil
	}
	ca, err := newCA("regionctl-sandbox-webhook-ca")
	if err != nil {
		return nil, err
	}
	srvCert, err := newCert("regionctl-sandbox-webhook", ca, false, []string{"127.0.0.1"})
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(srvCert.cert, srvCert.key)
	if err != nil {
		return nil, fmt.Errorf("sandbox: webhook certificate: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen for the token webhook: %w", err)
	}
	h := &webhook{m: m, url: "https://" + ln.Addr().String(), ca: ca.cert}
	h.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}}}
	go func() { _ = h.srv.ServeTLS(ln, "", "") }() // returns on close
	m.hook = h
	return h, nil
}

func (h *webhook) close() { _ = h.srv.Close() }

// kubeconfig is the --authentication-token-webhook-config-file of one cluster.
func (h *webhook) kubeconfig(id string) []byte {
	return fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters:
- name: regionctl-sandbox
  cluster:
    server: %s/authenticate/%s
    certificate-authority-data: %s
users:
- name: kube-apiserver
contexts:
- name: webhook
  context: {cluster: regionctl-sandbox, user: kube-apiserver}
current-context: webhook
`, h.url, id, base64.StdEncoding.EncodeToString(h.ca))
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/authenticate/")
	if !ok || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var review authv1.TokenReview
	if err := json.NewDecoder(r.Body).Decode(&review); err != nil {
		http.Error(w, "bad TokenReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	token := review.Spec.Token
	review.Spec = authv1.TokenReviewSpec{} // never echo the token
	h.m.mu.Lock()
	c := h.m.clusters[id]
	var auth emu.KubeAuthenticator
	if c != nil {
		auth = c.auth
	}
	h.m.mu.Unlock()
	var user emu.KubeUser
	var err error
	switch {
	case token == h.m.internal:
		user = emu.KubeUser{Name: "system:regionctl-sandbox", Groups: []string{"system:masters"}}
	case auth == nil:
		err = fmt.Errorf("cluster %s has no authenticator", id)
	default:
		user, err = auth(token)
	}
	if err != nil {
		review.Status = authv1.TokenReviewStatus{Authenticated: false, Error: err.Error()}
	} else {
		review.Status = authv1.TokenReviewStatus{Authenticated: true, User: authv1.UserInfo{Username: user.Name, UID: user.UID, Groups: user.Groups}}
	}
	review.APIVersion, review.Kind = "authentication.k8s.io/v1", "TokenReview"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review) // the API server went away
}
