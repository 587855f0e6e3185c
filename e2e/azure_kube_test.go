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

// TestAzureInCluster: examples/azure.yaml's StorageClasses and its two
// load-balancer Services land in the AKS cluster's real API server (the
// cluster user credential from ListClusterUserCredentials is the only
// token it takes), AKS's own default class loses its mark, kubectl sees
// them through `regionctl kubeconfig`, a hand edit is drift, and destroy
// removes them with the API server. The cluster user's token never reaches
// state, the plan file or --json output. The first public IP PUT loses its
// reply, and the apply absorbs it.
func TestAzureInCluster(t *testing.T) {
	requireKube(t)
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{
		Faults: []sandbox.Fault{{Op: "azure:publicIPAddresses.createOrUpdate", Kind: sandbox.FaultDropAfter, Nth: 1}},
	}, true)
	ctx := context.Background()
	planFile := filepath.Join(t.TempDir(), "plan.bin")

	pj := e.must(2, "plan", "-f", e.spec, "--json", "--out", planFile, "--detailed-exitcode")
	for _, addr := range []string{"kubernetes_storage_class.fast", "kubernetes_storage_class.bulk", "kubernetes_service.api", "kubernetes_service.metrics"} {
		if !strings.Contains(pj.stdout, addr) {
			t.Errorf("plan --json does not mention %s", addr)
		}
	}
	began := time.Now()
	ap := e.must(0, "apply", planFile)
	t.Logf("apply took %s (the API server starts with the cluster)", time.Since(began).Round(time.Second))
	e.assertAzureMatchesState(azRegion)

	kc := e.must(0, "kubeconfig", azRegion).stdout
	if strings.Contains(kc, "token:") {
		t.Errorf("kubeconfig holds a token:\n%s", kc)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	// The credential the exec plugin prints: the AKS cluster user's token.
	var cred struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(e.must(0, "kube-token", azRegion).stdout), &cred); err != nil || len(cred.Status.Token) < 32 {
		t.Fatalf("kube-token: %v (token of %d characters)", err, len(cred.Status.Token))
	}
	secrets := []string{cred.Status.Token, "PRIVATE KEY"}
	assertNoAzSecrets := func(t *testing.T, what, text string) {
		t.Helper()
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s contains a credential (%.12s…)", what, s)
			}
		}
	}
	assertNoAzSecrets(t, "kubeconfig", kc)

	t.Run("kubectl", func(t *testing.T) {
		out, err := kubectl(t, kubeconfig, "get", "storageclass,svc", "-A")
		if err != nil {
			t.Fatalf("kubectl get: %v\n%s", err, out)
		}
		t.Logf("kubectl get storageclass,svc -A:\n%s", out)
		for _, want := range []string{"storageclass.storage.k8s.io/fast (default)", "storageclass.storage.k8s.io/bulk", "storageclass.storage.k8s.io/default", "storageclass.storage.k8s.io/managed-csi", "service/api", "service/metrics", "LoadBalancer", "443:", "9090:"} {
			if !strings.Contains(out, want) {
				t.Errorf("kubectl output lacks %q", want)
			}
		}
		if strings.Contains(out, "default (default)") {
			t.Errorf("AKS's default class is still a default class beside fast")
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
		for name, sku := range map[string]string{"fast": "Premium_LRS", "bulk": "StandardSSD_LRS"} {
			sc, err := cs.StorageV1().StorageClasses().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if sc.Provisioner != "disk.csi.azure.com" || sc.Parameters["skuName"] != sku || string(*sc.ReclaimPolicy) != "Delete" ||
				string(*sc.VolumeBindingMode) != "WaitForFirstConsumer" || *sc.AllowVolumeExpansion != (name == "fast") {
				t.Errorf("%s = %s %v %v %v %v", name, sc.Provisioner, sc.Parameters, *sc.ReclaimPolicy, *sc.VolumeBindingMode, *sc.AllowVolumeExpansion)
			}
		}
		def, err := cs.StorageV1().StorageClasses().Get(ctx, "default", metav1.GetOptions{})
		if err != nil || def.Annotations["storageclass.kubernetes.io/is-default-class"] != "false" {
			t.Errorf("AKS's default class: %v %v; want is-default-class false", def.Annotations, err)
		}
		api, err := cs.CoreV1().Services("default").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if api.Spec.Type != "LoadBalancer" || api.Annotations["service.beta.kubernetes.io/azure-pip-name"] != "pip-api" ||
			api.Annotations["service.beta.kubernetes.io/azure-load-balancer-resource-group"] != "rg-"+azRegion+"-nodes" ||
			api.Spec.Selector["app"] != "gateway" || len(api.Spec.Ports) != 1 || api.Spec.Ports[0].Port != 443 || api.Spec.Ports[0].TargetPort.IntValue() != 8443 {
			t.Errorf("service api = %v %+v", api.Annotations, api.Spec)
		}
		metrics, err := cs.CoreV1().Services("default").Get(ctx, "metrics", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if metrics.Annotations["service.beta.kubernetes.io/azure-load-balancer-internal"] != "true" || metrics.Annotations["service.beta.kubernetes.io/azure-pip-name"] != "" ||
			len(metrics.Spec.Ports) != 2 || metrics.Spec.Ports[1].Protocol != "UDP" {
			t.Errorf("service metrics = %v %+v", metrics.Annotations, metrics.Spec)
		}
		// The public IP's address is the Service's output in state.
		for _, st := range e.states(azRegion) {
			for _, r := range st.Resources {
				if r.Address == azRegion+"/kubernetes_service.api" {
					if addrs, _ := r.Outputs["addresses"].([]any); len(addrs) != 1 || !strings.HasPrefix(addrs[0].(string), "20.") {
						t.Errorf("kubernetes_service.api outputs = %v, want the public IP's address", r.Outputs)
					}
				}
			}
		}
	})

	t.Run("drift", func(t *testing.T) {
		if out, err := kubectl(t, kubeconfig, "patch", "storageclass", "bulk", "-p", `{"allowVolumeExpansion":true}`); err != nil {
			t.Fatalf("kubectl patch: %v\n%s", err, out)
		}
		r := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
		for _, want := range []string{"kubernetes_storage_class.bulk", "allow_volume_expansion", "1 to change"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("plan after a hand edit lacks %q:\n%s", want, r.stdout)
			}
		}
		e.must(0, "apply", "-f", e.spec, "--auto-approve", "--force-conflicts")
		e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	})

	t.Run("no credentials in state, plan file or JSON", func(t *testing.T) {
		assertNoAzSecrets(t, "plan --json output", pj.stdout)
		assertNoAzSecrets(t, "apply output", ap.stdout+ap.stderr)
		b, err := os.ReadFile(planFile)
		if err != nil {
			t.Fatal(err)
		}
		assertNoAzSecrets(t, "plan file", string(b))
		_ = filepath.WalkDir(e.stateDir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				b, _ := os.ReadFile(path)
				assertNoAzSecrets(t, path, string(b))
			}
			return nil
		})
		assertNoAzSecrets(t, "show --json", e.must(0, "show", "--json").stdout)
		assertNoAzSecrets(t, "plan --json after apply", e.must(0, "plan", "-f", e.spec, "--json").stdout)
	})

	t.Run("destroy", func(t *testing.T) {
		r := e.must(0, "destroy", "-f", e.spec, "--auto-approve")
		assertNoAzSecrets(t, "destroy output", r.stdout+r.stderr)
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
		for _, c := range cfg.Clusters {
			u, err := url.Parse(c.Server)
			if err != nil {
				t.Fatal(err)
			}
			if conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second); err == nil {
				conn.Close()
				t.Errorf("the cluster's API server still listens on %s after destroy", u.Host)
			}
		}
	})
}
