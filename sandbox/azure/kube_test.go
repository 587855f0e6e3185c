package azure_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// startKube is start with Kubernetes on: every cluster gets a real
// kube-apiserver.
func startKube(t *testing.T) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir(), Clock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return connect(t, sb, clk)
}

// TestClusterWithoutKubeBinaries: without the binaries the PUT is accepted
// and the cluster ends Failed, its operation's error naming the script
// that provides them.
func TestClusterWithoutKubeBinaries(t *testing.T) {
	t.Setenv(kube.EnvAPIServer, filepath.Join(t.TempDir(), "no-kube-apiserver"))
	e := startKube(t)
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	_, err := wait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	if c, _ := code(err); c != "KubernetesAPIServerFailed" || !strings.Contains(err.Error(), kube.Script) {
		t.Fatalf("create without binaries: %v; want KubernetesAPIServerFailed naming %s", err, kube.Script)
	}
	cl, err := e.mc.Get(ctx, "rg", "aks", nil)
	if err != nil || *cl.Properties.ProvisioningState != "Failed" {
		t.Fatalf("cluster after failure: %v %v", cl.Properties, err)
	}
}

// TestClusterKubeAPI: a cluster is Succeeded once its API server answers;
// the kubeconfig of ListClusterUserCredentials reaches it with the real CA
// and the cluster's own token (and only that token), AKS's built-in
// StorageClasses are there, and deleting the resource group stops the API
// server and removes its data.
func TestClusterKubeAPI(t *testing.T) {
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatal(err)
	}
	e := startKube(t)
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	p, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The emulated latency has passed, but the API server takes ~20 s:
	// the cluster stays Creating until it answers.
	e.clk.Advance(time.Hour)
	if _, err := p.Poll(ctx); err != nil || p.Done() {
		t.Fatalf("first poll: done %v, %v; want still in progress while the API server starts", p.Done(), err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := e.sb.Kube().Wait(wctx, "azure-rg-aks"); err != nil {
		t.Fatalf("API server: %v", err)
	}
	if err := e.sb.Kube().WaitNodes(wctx, "azure-rg-aks"); err != nil { // the system pool's nodes join too
		t.Fatalf("nodes: %v", err)
	}
	cl := mustWait(t, e, mkPoller(p, nil))
	if *cl.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("cluster %s", *cl.Properties.ProvisioningState)
	}

	creds, err := e.mc.ListClusterUserCredentials(ctx, "rg", "aks", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(creds.Kubeconfigs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Host, "https://127.0.0.1:") || len(cfg.BearerToken) != 64 {
		t.Fatalf("kubeconfig server %s, token of %d characters", cfg.Host, len(cfg.BearerToken))
	}
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	list, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatalf("list StorageClasses with the user credential: %v", err)
	}
	got := map[string]string{}
	for _, sc := range list.Items {
		got[sc.Name] = sc.Provisioner + " " + sc.Annotations["storageclass.kubernetes.io/is-default-class"]
	}
	for name, want := range map[string]string{"default": "disk.csi.azure.com true", "managed-csi": "disk.csi.azure.com ", "managed-csi-premium": "disk.csi.azure.com ", "azurefile-csi": "file.csi.azure.com "} {
		if got[name] != want {
			t.Errorf("StorageClass %s = %q, want %q (all: %v)", name, got[name], want, got)
		}
	}

	admin, err := e.mc.ListClusterAdminCredentials(ctx, "rg", "aks", nil)
	if err != nil {
		t.Fatal(err)
	}
	acfg, err := clientcmd.RESTConfigFromKubeConfig(admin.Kubeconfigs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	if acfg.BearerToken == cfg.BearerToken {
		t.Error("the admin and user credentials are the same token")
	}
	for name, tok := range map[string]string{"admin": acfg.BearerToken, "forged": strings.Repeat("0", 64), "empty-ish": "sandbox"} {
		c := *cfg
		c.BearerToken = tok
		cs, err := k8s.NewForConfig(&c)
		if err != nil {
			t.Fatal(err)
		}
		_, err = cs.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
		if name == "admin" && err != nil {
			t.Errorf("admin credential: %v", err)
		}
		if name != "admin" && !apierrors.IsUnauthorized(err) {
			t.Errorf("%s token: %v; want 401 Unauthorized", name, err)
		}
	}

	// Deleting the group deletes the cluster and its API server.
	mustWait(t, e, mkPoller(e.rg.BeginDelete(ctx, "rg", nil)))
	for _, id := range e.sb.Kube().Running() {
		if id == "azure-rg-aks" {
			t.Error("the API server still runs after its resource group was deleted")
		}
	}
	if _, err := os.Stat(filepath.Join(e.sb.Dir(), "kube", "clusters", "azure-rg-aks")); !os.IsNotExist(err) {
		t.Errorf("the API server's directory is still there: %v", err)
	}
}
