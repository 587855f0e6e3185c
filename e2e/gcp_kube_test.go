package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/sandbox"
)

// gcpSecrets are strings no file or output regionctl writes may contain: a
// Google access token and the sandbox's service account key.
var gcpSecrets = []string{"ya29.", "PRIVATE KEY", "private_key"}

func assertNoGCPSecrets(t *testing.T, what, text string, more ...string) {
	t.Helper()
	for _, s := range append(gcpSecrets, more...) {
		if strings.Contains(text, s) {
			t.Errorf("%s contains %.20q…", what, s)
		}
	}
}

// internalLB is appended to the copy of examples/gcp.yaml so the internal
// scheme is exercised too.
const internalLB = `    - name: internal
      scheme: internal
      ports:
        - port: 80
      selector:
        app: internal
`

// TestGCPInCluster: examples/gcp.yaml's StorageClasses and load-balancer
// Services land in the GKE cluster's real API server (authenticated with
// an OAuth2 access token the sandbox issued for its service account key),
// are visible to kubectl through `regionctl kubeconfig`, show as drift when
// edited by hand (and conflict with the hand edit's field manager until
// --force-conflicts), and go away with the API server on destroy. No token
// or key ever reaches state, the plan file or --json output.
func TestGCPInCluster(t *testing.T) {
	e := newGCPEnv(t, sandbox.Options{}, true)
	b, err := os.ReadFile(e.spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.spec, append(b, internalLB...), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	planFile := filepath.Join(t.TempDir(), "plan.bin")

	pj := e.must(2, "plan", "-f", e.spec, "--json", "--out", planFile, "--detailed-exitcode")
	for _, addr := range []string{"kubernetes_storage_class.fast", "kubernetes_storage_class.bulk", "kubernetes_service.api", "kubernetes_service.internal"} {
		if !strings.Contains(pj.stdout, addr) {
			t.Errorf("plan --json does not mention %s", addr)
		}
	}
	began := time.Now()
	ap := e.must(0, "apply", planFile)
	t.Logf("apply took %s (the API server starts with the cluster)", time.Since(began).Round(time.Second))
	e.assertGCPMatchesState()

	kc := e.must(0, "kubeconfig", gcpRegion).stdout
	assertNoGCPSecrets(t, "kubeconfig", kc)
	if strings.Contains(kc, "token:") {
		t.Errorf("kubeconfig holds a token:\n%s", kc)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	// The reserved addresses, from state.
	reserved := map[string]string{}
	for _, r := range e.state(gcpRegion).Resources {
		if name, ok := strings.CutPrefix(r.Address, gcpRegion+"/gcp_compute_address.lb-"); ok {
			reserved[name], _ = r.Outputs["address"].(string)
		}
	}

	t.Run("kubectl", func(t *testing.T) {
		out, err := kubectl(t, kubeconfig, "get", "storageclass,svc", "-A")
		if err != nil {
			t.Fatalf("kubectl get: %v\n%s", err, out)
		}
		t.Logf("kubectl get storageclass,svc -A:\n%s", out)
		for _, want := range []string{"storageclass.storage.k8s.io/fast (default)", "storageclass.storage.k8s.io/bulk", "storageclass.storage.k8s.io/standard-rwo",
			"storageclass.storage.k8s.io/premium-rwo", "service/api", "service/internal", "LoadBalancer", "443:"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl output lacks %q", want)
			}
		}
		if strings.Contains(out, "standard-rwo (default)") {
			t.Errorf("GKE's standard-rwo is still a default class beside fast")
		}
	})

	t.Run("client-go", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := k8s.NewForConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for name, pd := range map[string]string{"fast": "pd-ssd", "bulk": "pd-balanced"} {
			sc, err := cs.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sc.Provisioner != "pd.csi.storage.gke.io" || sc.Parameters["type"] != pd || string(*sc.VolumeBindingMode) != "WaitForFirstConsumer" ||
				sc.Labels["app.kubernetes.io/managed-by"] != "regionctl" {
				t.Errorf("%s = %s %v %v %v", name, sc.Provisioner, sc.Parameters, *sc.VolumeBindingMode, sc.Labels)
			}
		}
		fast, err := cs.StorageV1().StorageClasses().Get(ctx, "fast", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if string(*fast.ReclaimPolicy) != "Retain" || !*fast.AllowVolumeExpansion || fast.Annotations["storageclass.kubernetes.io/is-default-class"] != "true" {
			t.Errorf("fast: reclaim %v, expansion %v, annotations %v", *fast.ReclaimPolicy, *fast.AllowVolumeExpansion, fast.Annotations)
		}
		rwo, err := cs.StorageV1().StorageClasses().Get(ctx, "standard-rwo", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rwo.Annotations["storageclass.kubernetes.io/is-default-class"] != "false" {
			t.Errorf("standard-rwo annotations = %v, want the default mark set to false", rwo.Annotations)
		}
		for name, internal := range map[string]bool{"api": false, "internal": true} {
			svc, err := cs.CoreV1().Services("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			lbIP := svc.Spec.LoadBalancerIP //nolint:staticcheck // how GKE binds a reserved address
			if svc.Spec.Type != "LoadBalancer" || lbIP == "" || lbIP != reserved[name] ||
				(svc.Annotations["networking.gke.io/load-balancer-type"] == "Internal") != internal {
				t.Errorf("service %s: type %s, loadBalancerIP %q (reserved %q), annotations %v", name, svc.Spec.Type, lbIP, reserved[name], svc.Annotations)
			}
		}
		if ip := net.ParseIP(reserved["internal"]); ip == nil || !ip.IsPrivate() {
			t.Errorf("the internal load balancer's address %q is not a private IP of the subnetwork", reserved["internal"])
		}
		api, err := cs.CoreV1().Services("default").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if api.Spec.Selector["app"] != "gateway" || len(api.Spec.Ports) != 1 || api.Spec.Ports[0].Port != 443 || api.Spec.Ports[0].TargetPort.IntValue() != 8443 {
			t.Errorf("service api spec = %+v", api.Spec)
		}
		// The bound address is the Service's output in state.
		for _, r := range e.state(gcpRegion).Resources {
			if r.Address == gcpRegion+"/kubernetes_service.api" {
				if addrs, _ := r.Outputs["addresses"].([]any); len(addrs) != 1 || addrs[0] != reserved["api"] {
					t.Errorf("kubernetes_service.api outputs = %v, want addresses [%s]", r.Outputs, reserved["api"])
				}
			}
		}
	})

	t.Run("drift", func(t *testing.T) {
		for _, p := range [][]string{
			{"patch", "storageclass", "bulk", "-p", `{"allowVolumeExpansion":true}`},
			{"patch", "svc", "api", "-p", `{"spec":{"selector":{"app":"hacked"}}}`},
		} {
			if out, err := kubectl(t, kubeconfig, p...); err != nil {
				t.Fatalf("kubectl %v: %v\n%s", p, err, out)
			}
		}
		r := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
		for _, want := range []string{"kubernetes_storage_class.bulk", "kubernetes_service.api", "allow_volume_expansion", "hacked"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("plan after hand edits lacks %q:\n%s", want, r.stdout)
			}
		}
		r = e.run("apply", "-f", e.spec, "--auto-approve")
		if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "--force-conflicts") {
			t.Fatalf("apply over a hand edit: exit %d, want a conflict naming --force-conflicts\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		e.must(0, "apply", "-f", e.spec, "--auto-approve", "--force-conflicts")
		e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
		out, err := kubectl(t, kubeconfig, "get", "svc", "api", "-o", "jsonpath={.spec.selector.app}")
		if err != nil || out != "gateway" {
			t.Errorf("selector after a forced apply = %q, %v; want gateway", out, err)
		}
	})

	t.Run("no credentials in state, plan file or JSON", func(t *testing.T) {
		// The token the exec plugin prints is the credential, as it should be.
		var cred struct {
			Kind   string `json:"kind"`
			Status struct {
				Token string `json:"token"`
			} `json:"status"`
		}
		if err := json.Unmarshal([]byte(e.must(0, "kube-token", gcpRegion).stdout), &cred); err != nil {
			t.Fatal(err)
		}
		if cred.Kind != "ExecCredential" || !strings.HasPrefix(cred.Status.Token, "ya29.") {
			t.Fatalf("kube-token printed kind %q, token %.8q…", cred.Kind, cred.Status.Token)
		}
		tok := cred.Status.Token
		assertNoGCPSecrets(t, "plan --json output", pj.stdout, tok)
		assertNoGCPSecrets(t, "apply output", ap.stdout+ap.stderr, tok)
		b, err := os.ReadFile(planFile)
		if err != nil {
			t.Fatal(err)
		}
		assertNoGCPSecrets(t, "plan file", string(b), tok)
		_ = filepath.WalkDir(e.stateDir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				assertNoGCPSecrets(t, path, string(b), tok)
			}
			return nil
		})
		assertNoGCPSecrets(t, "show --json", e.must(0, "show", "--json").stdout, tok)
		assertNoGCPSecrets(t, "plan --json after apply", e.must(0, "plan", "-f", e.spec, "--json").stdout, tok)
	})

	t.Run("destroy", func(t *testing.T) {
		r := e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
		assertNoGCPSecrets(t, "destroy output", r.stdout+r.stderr)
		for _, addr := range []string{"kubernetes_storage_class.fast", "kubernetes_service.api"} {
			if !strings.Contains(r.stdout, addr) {
				t.Errorf("destroy output does not mention %s", addr)
			}
		}
		e.assertEmpty()
		entries, err := os.ReadDir(filepath.Join(e.sbDir, "kube", "clusters"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if len(entries) != 0 {
			t.Errorf("API server directories left after destroy: %v", entries)
		}
		cfg, err := clientcmd.Load([]byte(kc))
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(cfg.Clusters[gcpRegion].Server)
		if err != nil {
			t.Fatal(err)
		}
		if conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second); err == nil {
			conn.Close()
			t.Errorf("the cluster's API server still listens on %s after destroy", u.Host)
		}
	})
}
